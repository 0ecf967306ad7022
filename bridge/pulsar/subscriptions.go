package pulsar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

type subStats struct {
	Type       string            `json:"type"`
	IsDurable  bool              `json:"isDurable"`
	MsgBacklog int64             `json:"msgBacklog"`
	Consumers  []json.RawMessage `json:"consumers"`
}

type topicStats struct {
	Subscriptions map[string]subStats `json:"subscriptions"`
	// StorageSize is the bytes of the topic's ledgers, what Pulsar's
	// retention by size weighs.
	StorageSize int64 `json:"storageSize"`
}

var typeNames = map[string]bridge.SubscriptionType{
	"Exclusive": bridge.Exclusive, "Shared": bridge.Shared, "Failover": bridge.Failover, "Key_Shared": bridge.KeyShared,
}

func (b *Backend) topicStats(ctx context.Context, tn bridge.TopicName) (topicStats, error) {
	var st topicStats
	_, err := b.adminGet(ctx, restPath(tn)+"/stats", &st)
	return st, mapErr(err, topicScope, "stats of "+tn.String())
}

// Subscriptions lists subscriptions with their backlog in messages, summed
// over partitions (see backlog).
func (a *adminAPI) Subscriptions(ctx context.Context, topic string) ([]bridge.SubscriptionInfo, error) {
	tn, _, err := a.begin(topic)
	if err != nil {
		return nil, err
	}
	parts, err := a.partitionNames(ctx, tn)
	if err != nil {
		return nil, err
	}
	byName := map[string]*bridge.SubscriptionInfo{}
	var order []string
	for _, p := range parts {
		st, err := a.b.topicStats(ctx, p)
		if err != nil {
			return nil, err
		}
		for name, s := range st.Subscriptions {
			info := byName[name]
			if info == nil {
				info = &bridge.SubscriptionInfo{Name: name, Type: typeNames[s.Type], Durable: s.IsDurable}
				byName[name] = info
				order = append(order, name)
			}
			info.Consumers = max(info.Consumers, len(s.Consumers))
			n, err := a.b.backlog(ctx, p, name, s)
			if err != nil {
				return nil, err
			}
			info.Backlog += n
		}
	}
	out := make([]bridge.SubscriptionInfo, 0, len(order))
	for _, n := range order {
		out = append(out, *byName[n])
	}
	return out, nil
}

var rangeRE = regexp.MustCompile(`\((-?\d+):(-?\d+)\.\.(-?\d+):(-?\d+)\]`)

// backlog counts a subscription's unacknowledged messages on one
// partition. The broker's msgBacklog counts entries (a batch of 100 is 1),
// so it is recomputed in messages from the cursor: everything after the
// mark-delete position, minus the individually deleted ranges (each
// measured by the index of its end entries), minus batch-index acks this
// process made inside entries not yet fully acknowledged.
func (b *Backend) backlog(ctx context.Context, tn bridge.TopicName, sub string, s subStats) (int64, error) {
	if s.MsgBacklog == 0 {
		return 0, nil
	}
	last, ok, err := b.lastEntry(ctx, tn)
	if err != nil || !ok {
		return 0, err
	}
	next := last.last + 1
	st, err := b.internalStats(ctx, tn)
	if err != nil {
		return 0, err
	}
	k := subKey{tn.String(), sub}
	cur, ok := st.Cursors[sub]
	if !ok { // non-durable cursors are not listed: count from the start
		return max(next-b.acks.partialCount(k, pos{-1, -1}, nil), 0), nil
	}
	md, ok := parsePos(cur.MarkDeletePosition)
	if !ok {
		return s.MsgBacklog, nil
	}
	lastBefore := func(p pos) (int64, error) {
		if p.entry >= 0 {
			e, err := b.probeEntry(ctx, tn, p)
			if errors.Is(err, errNoEntry) {
				return next - 1, nil
			}
			return e.last, err
		}
		e, err := b.probeEntry(ctx, tn, pos{p.ledger, 0})
		if errors.Is(err, errNoEntry) {
			return next - 1, nil
		}
		return e.first() - 1, err
	}
	done, err := lastBefore(md)
	if err != nil {
		return 0, err
	}
	n := next - done - 1
	var deleted [][2]pos
	for _, m := range rangeRE.FindAllStringSubmatch(cur.IndividuallyDeletedMessages, -1) {
		from, _ := parsePos(m[1] + ":" + m[2])
		to, _ := parsePos(m[3] + ":" + m[4])
		deleted = append(deleted, [2]pos{from, to})
		a, err := lastBefore(from)
		if err != nil {
			return 0, err
		}
		z, err := lastBefore(to)
		if err != nil {
			return 0, err
		}
		n -= z - a
	}
	n -= b.acks.partialCount(k, md, deleted)
	return max(n, 0), nil
}

func (a *adminAPI) hasSub(ctx context.Context, p bridge.TopicName, sub string) (bool, error) {
	st, err := a.b.topicStats(ctx, p)
	if err != nil {
		return false, err
	}
	_, ok := st.Subscriptions[sub]
	return ok, nil
}

func (a *adminAPI) CreateSubscription(ctx context.Context, topic, subscription string, index int64) error {
	tn, _, err := a.begin(topic)
	if err != nil {
		return err
	}
	parts, err := a.partitionNames(ctx, tn)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if ok, err := a.hasSub(ctx, p, subscription); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("%w: %s on %s", bridge.ErrSubscriptionExists, subscription, tn)
		}
	}
	for _, p := range parts {
		id := utils.Latest
		var at entryInfo
		found := false
		if index >= 0 {
			e, ok, err := a.b.findEntry(ctx, p, index)
			if err != nil {
				return err
			}
			if ok {
				id = utils.MessageID{LedgerID: e.ledger, EntryID: e.entry, PartitionIndex: -1, BatchIndex: -1}
				at, found = e, true
			}
		}
		ut, _ := utils.GetTopicName(p.String())
		if err := a.b.admin.Subscriptions().CreateWithContext(ctx, *ut, subscription, id); err != nil {
			return mapErr(err, subScope, "create subscription "+subscription+" on "+p.String())
		}
		if found && index > at.first() {
			if err := a.resetCursor(ctx, p, subscription, at, index); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *adminAPI) DeleteSubscription(ctx context.Context, topic, subscription string, force bool) error {
	tn, ut, err := a.begin(topic)
	if err != nil {
		return err
	}
	if force {
		// A consumer of this backend would resubscribe and bring the
		// subscription back: close ours first.
		a.b.closeConsumers(tn.String(), subscription)
		err = a.b.admin.Subscriptions().ForceDeleteWithContext(ctx, ut, subscription)
	} else {
		err = a.b.admin.Subscriptions().DeleteWithContext(ctx, ut, subscription)
	}
	if err != nil {
		return mapErr(err, subScope, "delete subscription "+subscription+" of "+tn.String())
	}
	if parts, err := a.partitionNames(ctx, tn); err == nil {
		for _, p := range parts {
			k := subKey{p.String(), subscription}
			a.b.acks.reset(k)
			a.b.saveAcks(ctx, k)
		}
	}
	return nil
}

func (a *adminAPI) ResetSubscription(ctx context.Context, partition, subscription string, index int64) error {
	tn, _, err := a.begin(partition)
	if err != nil {
		return err
	}
	if ok, err := a.hasSub(ctx, tn, subscription); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%w: %s on %s", bridge.ErrSubscriptionNotFound, subscription, tn)
	}
	e, ok, err := a.b.findEntry(ctx, tn, index)
	if err != nil {
		return err
	}
	if !ok {
		return a.postCursor(ctx, tn, subscription, map[string]any{"ledgerId": int64(0x7fffffffffffffff), "entryId": int64(0x7fffffffffffffff), "batchIndex": -1})
	}
	return a.resetCursor(ctx, tn, subscription, e, index)
}

// resetCursor moves a cursor to the message with this index inside entry e:
// to the entry, with the batch index so the broker (batch-index acks on)
// treats the entry's earlier messages as acknowledged.
func (a *adminAPI) resetCursor(ctx context.Context, tn bridge.TopicName, sub string, e entryInfo, index int64) error {
	bi := index - e.first()
	body := map[string]any{"ledgerId": e.ledger, "entryId": e.entry, "batchIndex": -1, "isExcluded": false}
	if bi > 0 {
		body["batchIndex"] = bi
	}
	k := subKey{tn.String(), sub}
	a.b.acks.reset(k)
	if err := a.postCursor(ctx, tn, sub, body); err != nil {
		return err
	}
	for i := int64(0); i < bi; i++ {
		a.b.acks.acked(k, e.pos, int32(i), int32(e.count))
	}
	a.b.saveAcks(ctx, k)
	return nil
}

func (a *adminAPI) postCursor(ctx context.Context, tn bridge.TopicName, sub string, body map[string]any) error {
	data, _ := json.Marshal(body)
	u := a.b.adminURL + "/admin/v2/" + restPath(tn) + "/subscription/" + url.PathEscape(sub) + "/resetcursor"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.b.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: reset cursor: %w", bridge.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return mapErr(&httpError{code: resp.StatusCode, body: strings.TrimSpace(string(msg))}, subScope, "reset cursor of "+sub)
	}
	return nil
}

func (a *adminAPI) ClearBacklog(ctx context.Context, topic, subscription string) error {
	tn, _, err := a.begin(topic)
	if err != nil {
		return err
	}
	parts, err := a.partitionNames(ctx, tn)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if ok, err := a.hasSub(ctx, p, subscription); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("%w: %s on %s", bridge.ErrSubscriptionNotFound, subscription, tn)
		}
		ut, _ := utils.GetTopicName(p.String())
		if err := a.b.admin.Subscriptions().ClearBacklogWithContext(ctx, *ut, subscription); err != nil {
			return mapErr(err, subScope, "clear backlog of "+subscription)
		}
		k := subKey{p.String(), subscription}
		a.b.acks.reset(k)
		a.b.saveAcks(ctx, k)
	}
	return nil
}

// closeConsumers closes this backend's consumers of a subscription of topic.
func (b *Backend) closeConsumers(topic, sub string) {
	b.mu.Lock()
	var cs []*consumer
	for h := range b.handles {
		if c, ok := h.(*consumer); ok && c.opts.Subscription == sub {
			for _, t := range c.opts.Topics {
				if tn, err := b.parse(t); err == nil && tn.String() == topic {
					cs = append(cs, c)
				}
			}
		}
	}
	b.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
	}
}
