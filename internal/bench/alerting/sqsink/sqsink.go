// Package sqsink subscribes a fresh SQS queue to an SNS topic on a local
// moto server and reads the SNS envelopes delivered to it. It is shared by
// the alerting end-to-end tests and the alerting latency benchmark; it only
// ever talks to the endpoint it is given (a loopback moto).
package sqsink

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Envelope is the standard SNS-to-SQS JSON envelope (non-raw delivery).
type Envelope struct {
	Type              string
	MessageID         string `json:"MessageId"`
	TopicArn          string
	Subject           string
	Message           string
	Timestamp         time.Time
	MessageAttributes map[string]struct {
		Type  string
		Value string
	}
	// Received is when the envelope was read from the queue (local clock).
	Received time.Time `json:"-"`
}

// Attr returns the String value of a message attribute.
func (e Envelope) Attr(k string) string { return e.MessageAttributes[k].Value }

// AWSConfig returns a config for moto at endpoint: region us-east-1,
// static test keys; no other endpoint can be reached with it.
func AWSConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// Sink is an SQS queue subscribed to a topic.
type Sink struct {
	SNS      *sns.Client
	SQS      *sqs.Client
	TopicARN string
	QueueURL string
	// Poll, when positive, switches Receive to short polling every Poll
	// (precise arrival times for latency measurements) instead of 1 s long
	// polls.
	Poll   time.Duration
	subARN string
}

// New creates the topic named topicName (idempotent), a queue named
// queueName and a subscription; when modelGroup is not empty the
// subscription has a filter policy on the model_group attribute.
func New(ctx context.Context, endpoint, topicName, queueName, modelGroup string) (*Sink, error) {
	cfg := AWSConfig(endpoint)
	s := &Sink{
		SNS: sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(endpoint) }),
		SQS: sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) }),
	}
	t, err := s.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(topicName)})
	if err != nil {
		return nil, fmt.Errorf("sqsink: create topic: %w", err)
	}
	s.TopicARN = aws.ToString(t.TopicArn)
	q, err := s.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(queueName)})
	if err != nil {
		return nil, fmt.Errorf("sqsink: create queue: %w", err)
	}
	s.QueueURL = aws.ToString(q.QueueUrl)
	attrs, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, fmt.Errorf("sqsink: queue arn: %w", err)
	}
	in := &sns.SubscribeInput{TopicArn: t.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(attrs.Attributes["QueueArn"])}
	if modelGroup != "" {
		fp, _ := json.Marshal(map[string][]string{"model_group": {modelGroup}})
		in.Attributes = map[string]string{"FilterPolicy": string(fp)}
	}
	sub, err := s.SNS.Subscribe(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("sqsink: subscribe: %w", err)
	}
	s.subARN = aws.ToString(sub.SubscriptionArn)
	return s, nil
}

// Receive returns the envelopes that arrive within wait (at least one poll),
// deleting them from the queue; it returns early once it has min of them.
func (s *Sink) Receive(ctx context.Context, wait time.Duration, min int) ([]Envelope, error) {
	deadline := time.Now().Add(wait)
	var out []Envelope
	for {
		remaining := time.Until(deadline)
		waitSec := int32(0)
		if remaining >= time.Second && s.Poll <= 0 {
			waitSec = 1
		}
		resp, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: waitSec})
		if err != nil {
			return out, fmt.Errorf("sqsink: receive: %w", err)
		}
		now := time.Now()
		for _, m := range resp.Messages {
			var e Envelope
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &e); err != nil {
				return out, fmt.Errorf("sqsink: not an SNS envelope: %w", err)
			}
			e.Received = now
			out = append(out, e)
			if _, err := s.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return out, fmt.Errorf("sqsink: delete: %w", err)
			}
		}
		if (min > 0 && len(out) >= min) || time.Now().After(deadline) {
			return out, nil
		}
		if len(resp.Messages) == 0 && waitSec == 0 {
			select {
			case <-ctx.Done():
				return out, ctx.Err()
			case <-time.After(max(s.Poll, 20*time.Millisecond)):
			}
		}
	}
}

// Close unsubscribes and deletes the queue.
func (s *Sink) Close(ctx context.Context) error {
	if s.subARN != "" {
		if _, err := s.SNS.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(s.subARN)}); err != nil {
			return fmt.Errorf("sqsink: unsubscribe: %w", err)
		}
	}
	if _, err := s.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(s.QueueURL)}); err != nil {
		return fmt.Errorf("sqsink: delete queue: %w", err)
	}
	return nil
}
