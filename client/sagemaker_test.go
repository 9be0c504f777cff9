package client

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

func TestResolveARN(t *testing.T) {
	t.Parallel()
	creds := credentials.NewStaticCredentialsProvider("AK", "SK", "")
	const arn = "arn:aws:sagemaker:ap-south-1:123456789012:mlflow-app/a1"
	base, opts, err := resolveARNWith(context.Background(), arn, nil, creds)
	if err != nil {
		t.Fatal(err)
	}
	if base != "https://mlflow.sagemaker.ap-south-1.app.aws" || len(opts) != 2 {
		t.Fatalf("base %q, %d options", base, len(opts))
	}
	env := map[string]string{envSageMakerCustomEndpoint: "http://127.0.0.1:9/prefix/"}
	base, _, err = resolveARNWith(context.Background(), arn, func(k string) string { return env[k] }, creds)
	if err != nil || base != "http://127.0.0.1:9/prefix" {
		t.Fatalf("custom endpoint: %q, %v", base, err)
	}
	env[envSageMakerCustomEndpoint] = "not a url"
	if _, _, err := resolveARNWith(context.Background(), arn, func(k string) string { return env[k] }, creds); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("bad custom endpoint: %v", err)
	}
}

func TestAssumeRoleTTL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw     string
		want    time.Duration
		wantErr bool
	}{
		{"", 3300 * time.Second, false},
		{"60", 300 * time.Second, false},
		{"1800", 1800 * time.Second, false},
		{"99999", 3600 * time.Second, false},
		{"soon", 0, true},
	}
	for _, tt := range tests {
		got, err := assumeRoleTTL(tt.raw)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("assumeRoleTTL(%q) = %v, %v; want %v, err %v", tt.raw, got, err, tt.want, tt.wantErr)
		}
	}
}

type fakeSTS struct {
	calls   atomic.Int64
	session atomic.Value
}

func (f *fakeSTS) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	f.calls.Add(1)
	f.session.Store(aws.ToString(in.RoleSessionName))
	exp := time.Now().Add(time.Hour)
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{
		AccessKeyId: aws.String("ASIA"), SecretAccessKey: aws.String("s"), SessionToken: aws.String("t"), Expiration: &exp,
	}}, nil
}

func TestAssumeRoleCredentialsCached(t *testing.T) {
	t.Parallel()
	f := &fakeSTS{}
	p := assumeRoleCredentials(f, "arn:aws:iam::123456789012:role/mlflow", 300*time.Second)
	for range 3 {
		c, err := p.Retrieve(context.Background())
		if err != nil || c.AccessKeyID != "ASIA" || c.SessionToken != "t" {
			t.Fatalf("Retrieve = %+v, %v", c, err)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d AssumeRole calls, want 1 (cached)", n)
	}
	if s := f.session.Load(); s != assumeRoleSessionName {
		t.Errorf("RoleSessionName %v", s)
	}
}

func TestTTLCredentials(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	static := credentials.NewStaticCredentialsProvider("a", "b", "")
	c, err := ttlCredentials{p: static, ttl: 5 * time.Minute, now: func() time.Time { return now }}.Retrieve(context.Background())
	if err != nil || !c.CanExpire || !c.Expires.Equal(now.Add(5*time.Minute)) {
		t.Errorf("got %+v, %v", c, err)
	}
}

func TestSigV4FromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env     map[string]string
		wantOpt bool
		wantErr bool
	}{
		{map[string]string{}, false, false},
		{map[string]string{envTrackingAWSSigV4: "false"}, false, false},
		{map[string]string{envTrackingAWSSigV4: "maybe"}, false, true},
		{map[string]string{envTrackingAWSSigV4: "true", "AWS_REGION": "eu-west-1"}, true, false},
		{map[string]string{envTrackingAWSSigV4: "1", "AWS_DEFAULT_REGION": "eu-west-1"}, true, false},
	}
	for _, tt := range tests {
		opt, err := sigV4FromEnv(func(k string) string { return tt.env[k] })
		if (err != nil) != tt.wantErr || (opt != nil) != tt.wantOpt {
			t.Errorf("env %v: opt %v, err %v", tt.env, opt != nil, err)
		}
	}
}

func TestAWSTrackingHook(t *testing.T) {
	t.Parallel()
	user := WithUserAgent("u")
	tests := []struct {
		name     string
		uri      string
		env      map[string]string
		wantURI  string
		wantOpts int
		wantErr  error
	}{
		{"plain URI, New", "https://mlflow.example.com", nil, "https://mlflow.example.com", 1, nil},
		{"plain URI, env without sigv4", "https://mlflow.example.com", map[string]string{}, "https://mlflow.example.com", 1, nil},
		{"execute-api", "https://api.example.com", map[string]string{envTrackingAWSSigV4: "true", "AWS_REGION": "eu-west-1"}, "https://api.example.com", 2, nil},
		{"tracking server arn", "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/s", nil, "https://eu-west-1.experiments.sagemaker.aws", 3, nil},
		{"arn with custom endpoint", "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-app/a",
			map[string]string{envSageMakerCustomEndpoint: "http://127.0.0.1:1", envTrackingAWSSigV4: "true"}, "http://127.0.0.1:1", 3, nil},
		{"bad arn", "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/e", nil, "", 0, ErrInvalidARN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var getenv func(string) string
			if tt.env != nil {
				getenv = func(k string) string { return tt.env[k] }
			}
			uri, opts, err := awsTrackingHook(tt.uri, getenv, []Option{user})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if uri != tt.wantURI || len(opts) != tt.wantOpts {
				t.Errorf("got %q with %d options, want %q with %d", uri, len(opts), tt.wantURI, tt.wantOpts)
			}
			if tt.wantErr == nil {
				if _, err := New(uri, opts...); err != nil {
					t.Errorf("New with the hook's result: %v", err)
				}
			}
		})
	}
}
