package client

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
)

// s3Upload holds MLFLOW_S3_UPLOAD_EXTRA_ARGS, boto3 ExtraArgs names mapped
// onto the transfer manager's upload input.
type s3Upload struct {
	args map[string]any
}

// s3ExtraArgNames are the boto3 upload ExtraArgs (S3Transfer.ALLOWED_UPLOAD_ARGS)
// this client maps; any other key is rejected rather than ignored.
var s3ExtraArgNames = []string{
	"ACL", "BucketKeyEnabled", "CacheControl", "ChecksumAlgorithm", "ContentDisposition",
	"ContentEncoding", "ContentLanguage", "ContentType", "ExpectedBucketOwner", "Expires",
	"GrantFullControl", "GrantRead", "GrantReadACP", "GrantWriteACP", "Metadata",
	"ObjectLockLegalHoldStatus", "ObjectLockMode", "ObjectLockRetainUntilDate", "RequestPayer",
	"SSECustomerAlgorithm", "SSECustomerKey", "SSECustomerKeyMD5", "SSEKMSEncryptionContext",
	"SSEKMSKeyId", "ServerSideEncryption", "StorageClass", "Tagging", "WebsiteRedirectLocation",
}

// parseS3ExtraArgs parses the JSON object of MLFLOW_S3_UPLOAD_EXTRA_ARGS,
// e.g. {"ServerSideEncryption":"aws:kms","SSEKMSKeyId":"alias/x"}. Values
// are strings, except BucketKeyEnabled (bool or "true"/"false") and Metadata
// (object of strings). Errors are *ValidationError and never echo values
// (they may hold an SSE-C key).
func parseS3ExtraArgs(raw string) (*s3Upload, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return &s3Upload{}, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, &ValidationError{Field: envS3UploadExtraArgs, Rule: "must be a JSON object"}
	}
	u := &s3Upload{args: m}
	// Validate now by applying to a scratch input.
	if err := u.apply(&transfermanager.UploadObjectInput{}); err != nil {
		return nil, err
	}
	return u, nil
}

// apply sets the extra arguments on in; they override guessed values such
// as ContentType, as MLflow merges them last.
func (u *s3Upload) apply(in *transfermanager.UploadObjectInput) error {
	if u == nil {
		return nil
	}
	keys := make([]string, 0, len(u.args))
	for k := range u.args {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := u.args[k]
		bad := func(rule string) error {
			return &ValidationError{Field: envS3UploadExtraArgs + "." + k, Rule: rule}
		}
		if !slices.Contains(s3ExtraArgNames, k) {
			return bad("is not a supported upload argument")
		}
		switch k {
		case "BucketKeyEnabled":
			switch b := v.(type) {
			case bool:
				in.BucketKeyEnabled = aws.Bool(b)
			case string:
				in.BucketKeyEnabled = aws.Bool(strings.EqualFold(b, "true"))
			default:
				return bad("must be a boolean")
			}
			continue
		case "Metadata":
			obj, ok := v.(map[string]any)
			if !ok {
				return bad("must be an object of strings")
			}
			md := make(map[string]string, len(obj))
			for mk, mv := range obj {
				s, ok := mv.(string)
				if !ok {
					return bad("must be an object of strings")
				}
				md[mk] = s
			}
			in.Metadata = md
			continue
		}
		s, ok := v.(string)
		if !ok {
			return bad("must be a string")
		}
		switch k {
		case "ACL":
			in.ACL = tmtypes.ObjectCannedACL(s)
		case "CacheControl":
			in.CacheControl = aws.String(s)
		case "ChecksumAlgorithm":
			in.ChecksumAlgorithm = tmtypes.ChecksumAlgorithm(s)
		case "ContentDisposition":
			in.ContentDisposition = aws.String(s)
		case "ContentEncoding":
			in.ContentEncoding = aws.String(s)
		case "ContentLanguage":
			in.ContentLanguage = aws.String(s)
		case "ContentType":
			in.ContentType = aws.String(s)
		case "ExpectedBucketOwner":
			in.ExpectedBucketOwner = aws.String(s)
		case "Expires", "ObjectLockRetainUntilDate":
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return bad("must be an RFC 3339 time")
			}
			if k == "Expires" {
				in.Expires = &t
			} else {
				in.ObjectLockRetainUntilDate = &t
			}
		case "GrantFullControl":
			in.GrantFullControl = aws.String(s)
		case "GrantRead":
			in.GrantRead = aws.String(s)
		case "GrantReadACP":
			in.GrantReadACP = aws.String(s)
		case "GrantWriteACP":
			in.GrantWriteACP = aws.String(s)
		case "ObjectLockLegalHoldStatus":
			in.ObjectLockLegalHoldStatus = tmtypes.ObjectLockLegalHoldStatus(s)
		case "ObjectLockMode":
			in.ObjectLockMode = tmtypes.ObjectLockMode(s)
		case "RequestPayer":
			in.RequestPayer = tmtypes.RequestPayer(s)
		case "SSECustomerAlgorithm":
			in.SSECustomerAlgorithm = aws.String(s)
		case "SSECustomerKey":
			in.SSECustomerKey = aws.String(s)
		case "SSECustomerKeyMD5":
			in.SSECustomerKeyMD5 = aws.String(s)
		case "SSEKMSEncryptionContext":
			in.SSEKMSEncryptionContext = aws.String(s)
		case "SSEKMSKeyId":
			in.SSEKMSKeyID = aws.String(s)
		case "ServerSideEncryption":
			in.ServerSideEncryption = tmtypes.ServerSideEncryption(s)
		case "StorageClass":
			in.StorageClass = tmtypes.StorageClass(s)
		case "Tagging":
			in.Tagging = aws.String(s)
		case "WebsiteRedirectLocation":
			in.WebsiteRedirectLocation = aws.String(s)
		default:
			return fmt.Errorf("client: %s.%s: unmapped", envS3UploadExtraArgs, k)
		}
	}
	return nil
}
