package broker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// sessions expires group members that stopped talking to the broker, as
// Kafka does when a member's session timeout passes without a heartbeat.
//
// kfake arms a member's session timer when it delivers the member's answer.
// A member killed while its JoinGroup waits for the rebalance is still made
// a member of the next generation; if its answer cannot be delivered, no
// timer is armed and the member keeps the partitions the leader gives it
// for ever, consumed by no one (broker/sessions_test.go shows it). So the
// broker watches every member's requests itself and, when a member of a
// stable group has been silent for longer than its session timeout, asks
// the group to remove it with a LeaveGroup, which starts the rebalance
// Kafka would have started. A chaos run also left groups in a rebalance
// for good after a broker restart, waiting for members that were dead
// (each restarted processor added one): in a rebalance, a member silent
// for longer than its rebalance and session timeouts together is removed
// too, since a live one's JoinGroup is answered, or times out and is sent
// again, within that.
type sessions struct {
	cluster *kfake.Cluster
	client  *kgo.Client

	mu      sync.Mutex
	members map[member]*session
}

type member struct{ group, id string }

type session struct {
	// timeout is the member's session timeout; rebalance its rebalance
	// timeout, for as long as which a JoinGroup may wait.
	timeout, rebalance time.Duration
	lastSeen           time.Time
}

// limit is how long the member may be silent in a group in state: its
// session timeout in a stable group, where live members heartbeat; in a
// rebalance, where a live member's JoinGroup may wait for its rebalance
// timeout, that and its session timeout.
func (ss *session) limit(state string) time.Duration {
	if state == "Stable" {
		return ss.timeout
	}
	return ss.rebalance + ss.timeout
}

// The limits of a member whose JoinGroup this broker has not seen: one
// restored with its group after a restart. A live one sends a request
// within seconds of the restart; a dead one never does.
const (
	defaultSessionTimeout   = 10 * time.Second
	defaultRebalanceTimeout = 20 * time.Second
)

// sweepEvery is how often silent members are looked for: a dead member is
// removed within its session timeout plus this.
const sweepEvery = time.Second

// watchSessions starts watching the cluster's group members until ctx
// ends; opts authenticate its client on a secured broker.
func watchSessions(ctx context.Context, c *kfake.Cluster, addr string, opts ...kgo.Opt) (*sessions, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.DisableClientMetrics()}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("broker: client to expire silent group members: %w", err)
	}
	s := &sessions{cluster: c, client: cl, members: make(map[member]*session)}
	observe := func(key kmsg.Key) {
		c.ControlKey(int16(key), func(req kmsg.Request) (kmsg.Response, error, bool) {
			s.seen(req)
			return nil, nil, false // observed, not handled: kfake answers
		})
	}
	observe(kmsg.JoinGroup)
	observe(kmsg.SyncGroup)
	observe(kmsg.Heartbeat)
	observe(kmsg.OffsetCommit)
	go s.sweep(ctx)
	return s, nil
}

// seen records a request from a group member.
func (s *sessions) seen(req kmsg.Request) {
	var (
		m                  member
		timeout, rebalance time.Duration
	)
	switch r := req.(type) {
	case *kmsg.JoinGroupRequest:
		m = member{r.Group, r.MemberID}
		timeout = time.Duration(r.SessionTimeoutMillis) * time.Millisecond
		rebalance = time.Duration(r.RebalanceTimeoutMillis) * time.Millisecond
	case *kmsg.SyncGroupRequest:
		m = member{r.Group, r.MemberID}
	case *kmsg.HeartbeatRequest:
		m = member{r.Group, r.MemberID}
	case *kmsg.OffsetCommitRequest:
		m = member{r.Group, r.MemberID}
	}
	if m.id == "" {
		return // a first join, which gets its member ID in the answer
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.members[m]
	if ss == nil {
		ss = &session{timeout: defaultSessionTimeout, rebalance: defaultRebalanceTimeout}
		s.members[m] = ss
	}
	ss.lastSeen = time.Now()
	if timeout > 0 {
		ss.timeout = timeout
	}
	if rebalance > 0 {
		ss.rebalance = rebalance
	}
}

func (s *sessions) sweep(ctx context.Context) {
	defer s.client.Close()
	tick := time.NewTicker(sweepEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, m := range s.silent() {
			s.expire(ctx, m)
		}
	}
}

// silent returns the members that have been silent for longer than their
// limit (session.limit), and forgets the members that are gone.
func (s *sessions) silent() []member {
	s.mu.Lock()
	groups := make(map[string]bool)
	for m := range s.members {
		groups[m.group] = true
	}
	s.mu.Unlock()

	var silent []member
	now := time.Now()
	for g := range groups {
		info := s.cluster.GroupInfo(g)
		s.mu.Lock()
		current := make(map[member]bool)
		if info != nil {
			for _, gm := range info.Members {
				m := member{g, gm.MemberID}
				current[m] = true
				if s.members[m] == nil {
					s.members[m] = &session{timeout: defaultSessionTimeout, rebalance: defaultRebalanceTimeout, lastSeen: now}
				}
			}
		}
		for m, ss := range s.members {
			switch {
			case m.group != g:
			case !current[m]:
				delete(s.members, m)
			case info.State != "Empty" && info.State != "Dead" && now.Sub(ss.lastSeen) > ss.limit(info.State):
				silent = append(silent, m)
			}
		}
		s.mu.Unlock()
	}
	return silent
}

// expire asks the broker to remove a silent member from its group.
func (s *sessions) expire(ctx context.Context, m member) {
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = m.group
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.MemberID = m.id
	lm.Reason = kmsg.StringPtr("session timeout: no request from the member within its session timeout")
	req.Members = append(req.Members, lm)
	resp, err := req.RequestWith(ctx, s.client)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err == nil && len(resp.Members) > 0 {
		err = kerr.ErrorForCode(resp.Members[0].ErrorCode)
	}
	if err != nil {
		slog.Warn("broker: could not expire a silent group member", "group", m.group, "member", m.id, "err", err)
		return
	}
	s.mu.Lock()
	delete(s.members, m)
	s.mu.Unlock()
	slog.Warn("broker: expired a group member silent for longer than its session timeout", "group", m.group, "member", m.id)
}
