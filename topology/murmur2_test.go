package topology_test

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/wallet/wallet/topology"
)

// Vectors from Apache Kafka's UtilsTest.testMurmur2.
func TestMurmur2(t *testing.T) {
	tests := []struct {
		in   string
		want int32
	}{
		{"21", -973932308},
		{"foobar", -790332482},
		{"a-little-bit-long-string", -985981536},
		{"a-little-bit-longer-string", -1486304829},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"abc", 479470107},
	}
	for _, tt := range tests {
		if got := int32(topology.Murmur2([]byte(tt.in))); got != tt.want {
			t.Errorf("Murmur2(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// The partition goka computes from Hasher must be the one franz-go's
// Kafka-compatible key partitioner picks, for every partition count.
func TestHasherMatchesKafkaPartitioner(t *testing.T) {
	kafka := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	for n := 1; n <= 12; n++ {
		for i := 0; i < 1000; i++ {
			key := fmt.Sprintf("account-%d", i)
			h := topology.Hasher()
			h.Write([]byte(key))
			sum := int32(h.Sum32())
			if sum < 0 { // goka's abs, which the mask makes a no-op
				sum = -sum
			}
			got := sum % int32(n)
			want := int32(kafka.Partition(&kgo.Record{Key: []byte(key)}, n))
			if got != want {
				t.Fatalf("key %q with %d partitions: got partition %d, want %d", key, n, got, want)
			}
			if p := topology.Partition(key, n); p != want {
				t.Fatalf("Partition(%q, %d) = %d, want %d", key, n, p, want)
			}
		}
	}
}
