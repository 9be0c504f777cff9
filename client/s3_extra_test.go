package client

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func FuzzParseS3ExtraArgs(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"ServerSideEncryption":"aws:kms","SSEKMSKeyId":"alias/k"}`,
		`{"Metadata":{"a":"b"}}`, `{"BucketKeyEnabled":"true"}`, `{"Expires":"2026-01-01T00:00:00Z"}`,
		`{"SSECustomerKey":"s3cr3t-value"}`, `{"ACL":["x"]}`, `[1,2]`, `{"Tagging":null}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := parseS3ExtraArgs(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidParameter) {
				t.Fatalf("error %v is not a ValidationError", err)
			}
			// Values (possibly an SSE-C key) are never echoed.
			var m map[string]any
			if json.Unmarshal([]byte(raw), &m) == nil {
				var keys strings.Builder
				for k := range m {
					keys.WriteString(k + "\x00")
				}
				for _, v := range m {
					s, ok := v.(string)
					if ok && len(s) > 3 && strings.Contains(err.Error(), s) &&
						!strings.Contains(keys.String(), s) && !strings.Contains(envS3UploadExtraArgs, s) {
						t.Fatalf("error %q echoes value %q", err, s)
					}
				}
			}
			return
		}
		if u == nil {
			t.Fatal("nil result without error")
		}
	})
}

func FuzzFlexInt64(f *testing.F) {
	for _, s := range []string{`12`, `"12"`, `null`, `""`, `-1`, `"x"`, `1e3`, `"9223372036854775807"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var v struct {
			N flexInt64 `json:"n"`
		}
		if err := json.Unmarshal([]byte(`{"n":`+raw+`}`), &v); err != nil {
			return
		}
		var back int64
		if err := json.Unmarshal([]byte(strings.Trim(raw, `"`)), &back); err == nil && back != int64(v.N) {
			t.Fatalf("%s decoded as %d, want %d", raw, v.N, back)
		}
	})
}
