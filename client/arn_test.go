package client

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSageMakerARN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		arn                    string
		wantBase, wantSvc, hdr string
		wantErr                bool
	}{
		{arn: "arn:aws:sagemaker:us-west-2:000000000000:mlflow-tracking-server/prod-1",
			wantBase: "https://us-west-2.experiments.sagemaker.aws", wantSvc: "sagemaker-mlflow", hdr: "x-mlflow-sm-tracking-server-arn"},
		{arn: "arn:aws:sagemaker:eu-central-1:123456789012:mlflow-app/team_app",
			wantBase: "https://mlflow.sagemaker.eu-central-1.app.aws", wantSvc: "sagemaker", hdr: "x-sm-mlflow-app-arn"},
		{arn: "arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:mlflow-tracking-server/gov",
			wantBase: "https://us-gov-west-1.experiments.sagemaker.aws", wantSvc: "sagemaker-mlflow", hdr: "x-mlflow-sm-tracking-server-arn"},
		{arn: "arn:aws-cn:sagemaker:cn-north-1:123456789012:mlflow-tracking-server/x", wantErr: true},
		{arn: "arn:aws:s3:us-east-1:123456789012:mlflow-tracking-server/x", wantErr: true},
		{arn: "arn:aws:sagemaker:us-east-1:1234:mlflow-tracking-server/x", wantErr: true},
		{arn: "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/x", wantErr: true},
		{arn: "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/", wantErr: true},
		{arn: "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server", wantErr: true},
		{arn: "arn:aws:sagemaker:US-EAST-1:123456789012:mlflow-app/x", wantErr: true},
		{arn: "arn:aws:sagemaker:evil.com/x:123456789012:mlflow-app/x", wantErr: true},
		{arn: "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/a/b", wantErr: true},
		{arn: "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/x:extra", wantErr: true},
		{arn: "https://example.com", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.arn, func(t *testing.T) {
			t.Parallel()
			a, err := parseSageMakerARN(tt.arn)
			if tt.wantErr {
				var ae *ARNError
				if !errors.As(err, &ae) || !errors.Is(err, ErrInvalidARN) || !errors.Is(err, ErrInvalidParameter) {
					t.Fatalf("err = %v, want *ARNError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []string{a.BaseURL(), a.Service(), a.RoutingHeader()}
			if diff := cmp.Diff([]string{tt.wantBase, tt.wantSvc, tt.hdr}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveARNRejectsWrongShape(t *testing.T) {
	t.Parallel()
	_, _, err := resolveARN("arn:aws:sagemaker:us-east-1:123456789012:training-job/x", nil)
	if !errors.Is(err, ErrInvalidARN) {
		t.Fatalf("err = %v, want ErrInvalidARN", err)
	}
	if !isARN("ARN:aws:x") || isARN("https://arn:x") {
		t.Error("isARN misclassifies")
	}
}

func FuzzParseSageMakerARN(f *testing.F) {
	for _, s := range []string{
		"arn:aws:sagemaker:us-west-2:000000000000:mlflow-tracking-server/prod-1",
		"arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:mlflow-app/a_b",
		"arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/",
		"arn:aws:sagemaker::123456789012:mlflow-app/x",
		"arn:::::",
		"arn:aws:sagemaker:a-:123456789012:mlflow-app/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseSageMakerARN(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidARN) {
				t.Fatalf("error %v is not an ARNError", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") && !strings.ContainsAny(s, "\n\r") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if rebuilt := "arn:" + a.Partition + ":sagemaker:" + a.Region + ":" + a.Account + ":" + a.ResourceType + "/" + a.Name; rebuilt != s {
			t.Fatalf("parsed %+v does not rebuild %q", a, s)
		}
		u, err := url.Parse(a.BaseURL())
		if err != nil || u.Scheme != "https" || u.Path != "" || u.User != nil || !strings.HasSuffix(u.Host, ".aws") || !strings.Contains(u.Host, a.Region) {
			t.Fatalf("base URL %q from %q is not a plain https host", a.BaseURL(), s)
		}
	})
}
