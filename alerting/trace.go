package alerting

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracerName is the instrumentation scope of this package's spans.
const tracerName = "github.com/mlwatch/mlwatch/alerting"

// defaultTracer returns the tracer of the global TracerProvider, used when
// no provider is injected.
func defaultTracer() trace.Tracer { return otel.GetTracerProvider().Tracer(tracerName) }

// startSpan starts the one client span of an operation. Attributes never
// carry secrets (no URLs of webhooks, no keys, no signed headers).
func startSpan(ctx context.Context, tr trace.Tracer, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return tr.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// endSpan records the outcome on span and ends it.
func endSpan(span trace.Span, status, attempts int, err error) {
	if status != 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", status))
	}
	if attempts > 0 {
		span.SetAttributes(attribute.Int("mlwatch.attempts", attempts))
	}
	if err != nil {
		var de *DeliveryError
		if errors.As(err, &de) {
			span.SetAttributes(attribute.Int("mlwatch.alerts.failed", len(de.Failed)))
		}
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// tracerOf returns tp's tracer, or the global one when tp is nil.
func tracerOf(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		return defaultTracer()
	}
	return tp.Tracer(tracerName)
}
