package topology

import "hash"

// Hasher returns Kafka's default partitioner hash (murmur2, as in the Java
// client's Utils.murmur2), masked to 31 bits as the Java client does with
// toPositive. goka and sarama both take the absolute value of the signed
// hash before the modulo; masking first makes their partition equal to
// Kafka's for every key, so that any standard Kafka client writing the same
// key reaches the same partition.
func Hasher() hash.Hash32 { return &murmur2{} }

type murmur2 struct {
	buf []byte
}

func (h *murmur2) Write(p []byte) (int, error) {
	h.buf = append(h.buf, p...)
	return len(p), nil
}

func (h *murmur2) Sum(b []byte) []byte {
	s := h.Sum32()
	return append(b, byte(s>>24), byte(s>>16), byte(s>>8), byte(s))
}

func (h *murmur2) Reset()         { h.buf = h.buf[:0] }
func (h *murmur2) Size() int      { return 4 }
func (h *murmur2) BlockSize() int { return 4 }

func (h *murmur2) Sum32() uint32 { return Murmur2(h.buf) & 0x7fffffff }

// Murmur2 is Kafka's murmur2 hash of b, unmasked.
func Murmur2(b []byte) uint32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	n := len(b)
	h := uint32(seed) ^ uint32(n)
	for ; len(b) >= 4; b = b[4:] {
		k := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch len(b) {
	case 3:
		h ^= uint32(b[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(b[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(b[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// Partition returns the partition of key among partitions, as every
// writer of the wallet (goka, sarama with Hasher, any Kafka client's
// default partitioner) chooses it. A record found in another partition
// was not written by any of them. partitions must be positive.
func Partition(key string, partitions int) int32 {
	h := Hasher()
	h.Write([]byte(key))
	return int32(h.Sum32() % uint32(partitions))
}
