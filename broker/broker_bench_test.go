package broker

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/wallet/wallet/kafka"
)

// BenchmarkProduce measures what -fsync costs a producer with the wallet's
// settings (acks=all, idempotent, one request in flight): serial, one
// record per request, ns/op is the latency of an acknowledged write;
// with 64 senders, records share requests as the API's do under load.
// The data directory is under $TMPDIR: fsync costs nothing on a tmpfs.
//
//	go test -run '^$' -bench Produce -benchtime 2000x ./broker/
func BenchmarkProduce(b *testing.B) {
	for _, fsync := range []bool{false, true} {
		for _, senders := range []int{1, 64} {
			b.Run(fmt.Sprintf("fsync=%v/senders=%d", fsync, senders), func(b *testing.B) {
				benchmarkProduce(b, Options{Fsync: fsync}, senders)
			})
		}
	}
}

func benchmarkProduce(b *testing.B, o Options, senders int) {
	br, err := Start("127.0.0.1:0", b.TempDir(), o)
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	kc := kafka.Config{Brokers: []string{br.Addr()}}
	if err := kc.EnsureTopics(); err != nil {
		b.Fatal(err)
	}
	p, err := sarama.NewSyncProducer(kc.Brokers, kc.Sarama())
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	if _, _, err := p.SendMessage(message("warm-up")); err != nil {
		b.Fatal(err)
	}

	latencies := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	b.ResetTimer()
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := s; i < b.N; i += senders {
				start := time.Now()
				m := message("a transfer request of about the size of the wallet's, one hundred and sixteen bytes of JSON...")
				m.Key = sarama.StringEncoder(fmt.Sprint(i))
				if _, _, err := p.SendMessage(m); err != nil {
					b.Error(err)
					return
				}
				latencies[i] = time.Since(start)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
