package broker

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestMemberKilledWhileJoiningIsExpired reproduces the fault behind a chaos
// run that stalled for good: a processor killed while it waited in JoinGroup
// is still made a member of the next generation, its answer cannot be
// delivered, and kfake arms no session timer for it. The live members sync,
// the group is stable, and the dead member's partitions are consumed by
// no one. Kafka would expire it after its session timeout; so must we.
//
// Whether kfake arms the timer depends on a select between the closed
// connection and a free slot in its reply buffer, so half the deaths are
// harmless: four groups at once make a broken broker pass by chance one
// time in sixteen.
func TestMemberKilledWhileJoiningIsExpired(t *testing.T) {
	b, err := Start("127.0.0.1:0", t.TempDir(), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	for _, group := range []string{"a", "b", "c", "d"} {
		t.Run(group, func(t *testing.T) {
			t.Parallel()
			memberKilledWhileJoining(t, b.Addr(), group)
		})
	}
}

func memberKilledWhileJoining(t *testing.T, addr, group string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	live := client(t, addr)
	liveID, gen, members := join(ctx, t, live, group, "")
	if len(members) != 1 {
		t.Fatalf("first generation has %d members, want 1", len(members))
	}
	syncGroup(ctx, t, live, group, liveID, gen, members)

	// The doomed member joins, which starts a rebalance, and dies while
	// its JoinGroup waits for the live member to rejoin.
	doomed := client(t, addr)
	doomedID := memberID(ctx, t, doomed, group)
	joining := make(chan struct{})
	go func() {
		defer close(joining)
		req := joinRequest(group, doomedID)
		req.RequestWith(ctx, doomed) //nolint:errcheck // the client is closed under it
	}()
	waitHeartbeat(ctx, t, live, group, liveID, gen, kerr.RebalanceInProgress)
	doomed.Close()
	<-joining

	liveID, gen, members = join(ctx, t, live, group, liveID)
	if len(members) != 2 {
		t.Fatalf("second generation has %d members, want the live one and the dead one", len(members))
	}
	syncGroup(ctx, t, live, group, liveID, gen, members)

	// The dead member's session timeout is 6 s: within a few more the
	// live member must be told to rejoin, and rejoin alone.
	waitHeartbeat(ctx, t, live, group, liveID, gen, kerr.RebalanceInProgress)
	_, _, members = join(ctx, t, live, group, liveID)
	if len(members) != 1 || members[0].MemberID != liveID {
		t.Fatalf("after the dead member's session timeout the members are %v, want only %s", members, liveID)
	}
}

func client(t *testing.T, addr string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func joinRequest(group, memberID string) *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group = group
	req.MemberID = memberID
	req.SessionTimeoutMillis = 6000
	req.RebalanceTimeoutMillis = 30000
	req.ProtocolType = "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name = "range"
	p.Metadata = []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	req.Protocols = append(req.Protocols, p)
	return req
}

// memberID asks for a member ID, as every client's first JoinGroup does.
func memberID(ctx context.Context, t *testing.T, cl *kgo.Client, group string) string {
	t.Helper()
	resp, err := joinRequest(group, "").RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != kerr.MemberIDRequired.Code {
		t.Fatalf("first join: error %v, want MEMBER_ID_REQUIRED", kerr.ErrorForCode(resp.ErrorCode))
	}
	return resp.MemberID
}

// join joins (or rejoins) and returns the generation's members.
func join(ctx context.Context, t *testing.T, cl *kgo.Client, group, id string) (string, int32, []kmsg.JoinGroupResponseMember) {
	t.Helper()
	if id == "" {
		id = memberID(ctx, t, cl, group)
	}
	resp, err := joinRequest(group, id).RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		t.Fatalf("join: %v", err)
	}
	if resp.LeaderID != id {
		t.Fatalf("join: leader is %s, want the live member %s", resp.LeaderID, id)
	}
	return id, resp.Generation, resp.Members
}

// syncGroup hands every member an (empty) assignment, as the leader does.
func syncGroup(ctx context.Context, t *testing.T, cl *kgo.Client, group, id string, gen int32, members []kmsg.JoinGroupResponseMember) {
	t.Helper()
	req := kmsg.NewPtrSyncGroupRequest()
	req.Group = group
	req.MemberID = id
	req.Generation = gen
	req.ProtocolType = kmsg.StringPtr("consumer")
	req.Protocol = kmsg.StringPtr("range")
	for _, m := range members {
		a := kmsg.NewSyncGroupRequestGroupAssignment()
		a.MemberID = m.MemberID
		req.GroupAssignment = append(req.GroupAssignment, a)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

// waitHeartbeat heartbeats every second until the broker answers want.
func waitHeartbeat(ctx context.Context, t *testing.T, cl *kgo.Client, group, id string, gen int32, want *kerr.Error) {
	t.Helper()
	for {
		req := kmsg.NewPtrHeartbeatRequest()
		req.Group = group
		req.MemberID = id
		req.Generation = gen
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("heartbeat while waiting for %v: %v", want, err)
		}
		got := kerr.ErrorForCode(resp.ErrorCode)
		if got == want {
			return
		}
		if got != nil {
			t.Fatalf("heartbeat: %v, want %v", got, want)
		}
		time.Sleep(time.Second)
	}
}
