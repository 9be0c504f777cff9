// Package faultproxy is a fault-injecting HTTP reverse proxy for loopback
// tests of the batcher against a real MLflow server.
//
// A Proxy listens on 127.0.0.1 and forwards every request to a loopback
// upstream. A configured fraction of requests is answered with 503 or 429
// without reaching the upstream, has its connection reset (before or after
// the upstream processed it), or is answered late (after the upstream
// processed it), so a client's timeout fires while the server has already
// stored the data. SetDown makes the proxy refuse connections, as a stopped
// server does, until SetDown(false).
//
// The proxy refuses upstreams that are not loopback addresses: it is a test
// tool and must never send traffic off the machine.
package faultproxy
