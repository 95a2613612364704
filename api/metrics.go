package api

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The HTTP metrics of every server of the process, served on GET
// /metrics. A request is labelled with its route, the pattern it matched,
// never its path: a path holds request IDs and names, which would make a
// series per request.
var (
	httpRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wallet_http_requests_total",
		Help: "HTTP requests answered, by route (the pattern matched) and status code.",
	}, []string{"route", "code"})
	httpDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "wallet_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route; a POST with Prefer: wait includes the wait.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route"})
	transferCompletion = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "wallet_transfer_completion_seconds",
		Help: "Time from Kafka's acknowledgement of a transfer to the final status the API sees, for POSTs with Prefer: wait that saw it within the wait.",
		// Up to MaxWait: a wait ends there.
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 13),
	})
)

// instrument returns h counted and timed under route.
func instrument(route string, h http.HandlerFunc) http.HandlerFunc {
	labels := prometheus.Labels{"route": route}
	counted := promhttp.InstrumentHandlerCounter(httpRequests.MustCurryWith(labels), h)
	return promhttp.InstrumentHandlerDuration(httpDuration.MustCurryWith(labels), counted).ServeHTTP
}

// observeCompletion records a transfer acknowledged by Kafka at accepted
// and seen final now; a zero accepted (a re-post, whose acceptance this
// server did not see) is not recorded.
func observeCompletion(accepted time.Time) {
	if accepted.IsZero() {
		return
	}
	transferCompletion.Observe(time.Since(accepted).Seconds())
}
