package client

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// s3MaxParts is S3's limit on parts per multipart upload.
const s3MaxParts = 10000

// putFile uploads a local file without buffering it: one PutObject below
// the part size, else a multipart upload whose parts are io.SectionReaders
// over the file (WithConcurrency parts at a time). The SDK reads each
// section to hash it and again to send it, and retries a part by seeking;
// memory does not grow with file size, part size or concurrency. Failed
// multipart uploads are aborted.
func (s *s3Store) putFile(ctx context.Context, dest string, f *os.File, size int64, in *transfermanager.UploadObjectInput, st *artifactSettings) error {
	partSize := st.partSize
	if partSize == 0 {
		partSize = defaultPartSize
	}
	key := aws.ToString(in.Key)
	if size < partSize {
		p := s3PutObjectInput(in)
		p.Body = io.NewSectionReader(f, 0, size)
		p.ContentLength = aws.Int64(size)
		if _, err := s.api.PutObject(ctx, p); err != nil {
			return s3Err("PutObject", s.bucket, key, err)
		}
		st.report(dest, size, size)
		return nil
	}
	partSize = max(partSize, (size+s3MaxParts-1)/s3MaxParts)
	created, err := s.api.CreateMultipartUpload(ctx, s3CreateMPUInput(in))
	if err != nil {
		return s3Err("CreateMultipartUpload", s.bucket, key, err)
	}
	nParts := int((size + partSize - 1) / partSize)
	parts := make([]s3types.CompletedPart, nParts)
	var (
		mu       sync.Mutex
		firstErr error
		done     atomic.Int64
		wg       sync.WaitGroup
	)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, st.concurrency)
	for i := range nParts {
		if pctx.Err() != nil {
			break
		}
		off := int64(i) * partSize
		n := min(partSize, size-off)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out, err := s.api.UploadPart(pctx, &s3.UploadPartInput{
				Bucket:               in.Bucket,
				Key:                  in.Key,
				UploadId:             created.UploadId,
				PartNumber:           aws.Int32(int32(i + 1)),
				Body:                 io.NewSectionReader(f, off, n),
				ContentLength:        aws.Int64(n),
				ExpectedBucketOwner:  in.ExpectedBucketOwner,
				RequestPayer:         s3types.RequestPayer(in.RequestPayer),
				SSECustomerAlgorithm: in.SSECustomerAlgorithm,
				SSECustomerKey:       in.SSECustomerKey,
				SSECustomerKeyMD5:    in.SSECustomerKeyMD5,
			})
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = s3Err("UploadPart", s.bucket, key, err)
					cancel()
				}
				mu.Unlock()
				return
			}
			parts[i] = s3types.CompletedPart{
				PartNumber:     aws.Int32(int32(i + 1)),
				ETag:           out.ETag,
				ChecksumCRC32:  out.ChecksumCRC32,
				ChecksumCRC32C: out.ChecksumCRC32C,
				ChecksumSHA1:   out.ChecksumSHA1,
				ChecksumSHA256: out.ChecksumSHA256,
			}
			st.report(dest, done.Add(n), size)
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("client: s3 UploadPart s3://%s/%s: %w", s.bucket, key, ctx.Err())
	}
	if firstErr == nil {
		_, err := s.api.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket:               in.Bucket,
			Key:                  in.Key,
			UploadId:             created.UploadId,
			MultipartUpload:      &s3types.CompletedMultipartUpload{Parts: slices.Clip(parts)},
			ExpectedBucketOwner:  in.ExpectedBucketOwner,
			RequestPayer:         s3types.RequestPayer(in.RequestPayer),
			SSECustomerAlgorithm: in.SSECustomerAlgorithm,
			SSECustomerKey:       in.SSECustomerKey,
			SSECustomerKeyMD5:    in.SSECustomerKeyMD5,
		})
		if err == nil {
			return nil
		}
		firstErr = s3Err("CompleteMultipartUpload", s.bucket, key, err)
	}
	actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer acancel()
	if _, err := s.api.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
		Bucket: in.Bucket, Key: in.Key, UploadId: created.UploadId,
		ExpectedBucketOwner: in.ExpectedBucketOwner, RequestPayer: s3types.RequestPayer(in.RequestPayer),
	}); err != nil {
		s.logger.Warn("client: aborting s3 multipart upload failed", "error", s3Err("AbortMultipartUpload", s.bucket, key, err).Error())
	}
	return firstErr
}

// s3PutObjectInput copies the upload fields onto a PutObjectInput.
func s3PutObjectInput(in *transfermanager.UploadObjectInput) *s3.PutObjectInput {
	return &s3.PutObjectInput{
		Bucket: in.Bucket, Key: in.Key,
		ACL:                       s3types.ObjectCannedACL(in.ACL),
		BucketKeyEnabled:          in.BucketKeyEnabled,
		CacheControl:              in.CacheControl,
		ChecksumAlgorithm:         s3types.ChecksumAlgorithm(in.ChecksumAlgorithm),
		ContentDisposition:        in.ContentDisposition,
		ContentEncoding:           in.ContentEncoding,
		ContentLanguage:           in.ContentLanguage,
		ContentType:               in.ContentType,
		ExpectedBucketOwner:       in.ExpectedBucketOwner,
		Expires:                   in.Expires,
		GrantFullControl:          in.GrantFullControl,
		GrantRead:                 in.GrantRead,
		GrantReadACP:              in.GrantReadACP,
		GrantWriteACP:             in.GrantWriteACP,
		Metadata:                  in.Metadata,
		ObjectLockLegalHoldStatus: s3types.ObjectLockLegalHoldStatus(in.ObjectLockLegalHoldStatus),
		ObjectLockMode:            s3types.ObjectLockMode(in.ObjectLockMode),
		ObjectLockRetainUntilDate: in.ObjectLockRetainUntilDate,
		RequestPayer:              s3types.RequestPayer(in.RequestPayer),
		SSECustomerAlgorithm:      in.SSECustomerAlgorithm,
		SSECustomerKey:            in.SSECustomerKey,
		SSECustomerKeyMD5:         in.SSECustomerKeyMD5,
		SSEKMSEncryptionContext:   in.SSEKMSEncryptionContext,
		SSEKMSKeyId:               in.SSEKMSKeyID,
		ServerSideEncryption:      s3types.ServerSideEncryption(in.ServerSideEncryption),
		StorageClass:              s3types.StorageClass(in.StorageClass),
		Tagging:                   in.Tagging,
		WebsiteRedirectLocation:   in.WebsiteRedirectLocation,
	}
}

// s3CreateMPUInput copies the upload fields onto a CreateMultipartUploadInput.
func s3CreateMPUInput(in *transfermanager.UploadObjectInput) *s3.CreateMultipartUploadInput {
	p := s3PutObjectInput(in)
	return &s3.CreateMultipartUploadInput{
		Bucket: p.Bucket, Key: p.Key, ACL: p.ACL, BucketKeyEnabled: p.BucketKeyEnabled,
		CacheControl: p.CacheControl, ChecksumAlgorithm: p.ChecksumAlgorithm,
		ContentDisposition: p.ContentDisposition, ContentEncoding: p.ContentEncoding,
		ContentLanguage: p.ContentLanguage, ContentType: p.ContentType,
		ExpectedBucketOwner: p.ExpectedBucketOwner, Expires: p.Expires,
		GrantFullControl: p.GrantFullControl, GrantRead: p.GrantRead,
		GrantReadACP: p.GrantReadACP, GrantWriteACP: p.GrantWriteACP, Metadata: p.Metadata,
		ObjectLockLegalHoldStatus: p.ObjectLockLegalHoldStatus, ObjectLockMode: p.ObjectLockMode,
		ObjectLockRetainUntilDate: p.ObjectLockRetainUntilDate, RequestPayer: p.RequestPayer,
		SSECustomerAlgorithm: p.SSECustomerAlgorithm, SSECustomerKey: p.SSECustomerKey,
		SSECustomerKeyMD5: p.SSECustomerKeyMD5, SSEKMSEncryptionContext: p.SSEKMSEncryptionContext,
		SSEKMSKeyId: p.SSEKMSKeyId, ServerSideEncryption: p.ServerSideEncryption,
		StorageClass: p.StorageClass, Tagging: p.Tagging, WebsiteRedirectLocation: p.WebsiteRedirectLocation,
	}
}
