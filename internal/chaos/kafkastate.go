package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wallet/wallet/kafka"
	walletrun "github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// groupLag is where a consumer group stands on its input topic.
type groupLag struct {
	group, topic string
	state        string   // Stable, PreparingRebalance, ...
	members      int      // members in the group
	assignment   []string // per member: "member-id@host: partitions"
	end          []int64  // per partition: the committed end (kafka.Config.CommittedEnd)
	committed    []int64  // per partition: the committed offset, -1 for none
}

func (g groupLag) total() int64 {
	var n int64
	for p := range g.end {
		n += max(0, g.end[p]-max(g.committed[p], 0))
	}
	return n
}

func (g groupLag) String() string {
	var per []string
	for p := range g.end {
		per = append(per, fmt.Sprintf("p%d %d/%d", p, g.committed[p], g.end[p]))
	}
	assignment := g.assignment
	if len(assignment) > 8 {
		assignment = append(assignment[:8:8], fmt.Sprintf("... %d more", len(g.assignment)-8))
	}
	return fmt.Sprintf("group %s on %s: %s, %d members, lag %d (committed/end: %s); assignment: %s",
		g.group, g.topic, g.state, g.members, g.total(), strings.Join(per, ", "), strings.Join(assignment, "; "))
}

// kafkaState asks the broker where the processor groups (signup, paymentd,
// accountant) stand: their
// state, members, committed offsets and the end of their input topics.
// It tells a pipeline that is still working through a backlog from one
// that is stuck.
func kafkaState(ctx context.Context, broker string, partitions int) ([]groupLag, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	opts, err := kafkaOpts(broker)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, kgo.RetryTimeout(5*time.Second))...)
	if err != nil {
		return nil, fmt.Errorf("kafka client for %s: %w", broker, err)
	}
	defer cl.Close()
	var groups []groupLag // derived from the graphs, as every list of groups is
	for _, in := range topology.Inputs() {
		groups = append(groups, groupLag{group: string(in.Group), topic: string(in.Topic)})
	}
	describe := kmsg.NewPtrDescribeGroupsRequest()
	for _, g := range groups {
		describe.Groups = append(describe.Groups, g.group)
	}
	dresp, err := describe.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("describe groups: %w", err)
	}
	for i := range groups {
		for _, d := range dresp.Groups {
			if d.Group != groups[i].group {
				continue
			}
			groups[i].state, groups[i].members = d.State, len(d.Members)
			for _, m := range d.Members {
				var a kmsg.ConsumerMemberAssignment
				parts := "?"
				if err := a.ReadFrom(m.MemberAssignment); err == nil {
					var ps []string
					for _, t := range a.Topics {
						ps = append(ps, fmt.Sprintf("%s%v", t.Topic, t.Partitions))
					}
					parts = strings.Join(ps, " ")
				}
				groups[i].assignment = append(groups[i].assignment, fmt.Sprintf("%s@%s: %s", m.MemberID, m.ClientHost, parts))
			}
		}
		end, err := committedEnds(broker, groups[i].topic, partitions)
		if err != nil {
			return nil, err
		}
		committed, err := committedOffsets(ctx, cl, groups[i].group, groups[i].topic, partitions)
		if err != nil {
			return nil, err
		}
		groups[i].end, groups[i].committed = end, committed
	}
	return groups, nil
}

// committedEnds returns the committed end of every partition of topic: a
// partition written in transactions ends in markers, which no reader
// receives and no group's committed offset passes.
func committedEnds(broker, topic string, partitions int) ([]int64, error) {
	s, err := walletrun.SecurityFromEnv()
	if err != nil {
		return nil, fmt.Errorf("Kafka security from the environment: %w", err)
	}
	kc := kafka.Config{Brokers: []string{broker}, Security: s}
	end := make([]int64, partitions)
	for p := range partitions {
		if end[p], err = kc.CommittedEnd(topic, int32(p)); err != nil {
			return nil, err
		}
	}
	return end, nil
}

func committedOffsets(ctx context.Context, cl *kgo.Client, group, topic string, partitions int) ([]int64, error) {
	req := kmsg.NewPtrOffsetFetchRequest()
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	gt := kmsg.NewOffsetFetchRequestGroupTopic()
	gt.Topic = topic
	for p := range partitions {
		rt.Partitions = append(rt.Partitions, int32(p))
		gt.Partitions = append(gt.Partitions, int32(p))
	}
	// Old versions read Group and Topics, v8 and later Groups.
	req.Group, req.Topics = group, []kmsg.OffsetFetchRequestTopic{rt}
	rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{gt}
	req.Groups = []kmsg.OffsetFetchRequestGroup{rg}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("committed offsets of %s: %w", group, err)
	}
	committed := make([]int64, partitions)
	for i := range committed {
		committed[i] = -1
	}
	set := func(p int32, off int64) {
		if int(p) < partitions {
			committed[p] = off
		}
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			set(p.Partition, p.Offset)
		}
	}
	for _, g := range resp.Groups {
		for _, t := range g.Topics {
			for _, p := range t.Partitions {
				set(p.Partition, p.Offset)
			}
		}
	}
	return committed, nil
}
