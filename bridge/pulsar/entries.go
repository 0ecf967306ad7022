package pulsar

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// pos is a ledger entry: the unit Pulsar stores, seeks and acknowledges.
type pos struct{ ledger, entry int64 }

func (p pos) String() string { return fmt.Sprintf("%d:%d", p.ledger, p.entry) }

// entryInfo is what the broker's entry metadata says about one entry. The
// broker's AppendIndexMetadataInterceptor stamps an entry with the index of
// its LAST message; count is how many messages the entry holds (a batch).
type entryInfo struct {
	pos
	last    int64 // index of the entry's last message
	count   int64
	publish time.Time
}

func (e entryInfo) first() int64 { return e.last - e.count + 1 }

// errNoEntry: the position holds no entry (past the end, or trimmed).
var errNoEntry = errors.New("no entry at this position")

// restPath is the admin path of a topic: persistent/tenant/ns/local.
func restPath(t bridge.TopicName) string {
	domain := "persistent"
	if !t.Persistent {
		domain = "non-persistent"
	}
	return domain + "/" + url.PathEscape(t.Tenant) + "/" + url.PathEscape(t.Namespace) + "/" + url.PathEscape(t.Local)
}

// adminGet does a GET on the admin API and returns the response; the body is
// read into out when out is non-nil. Non-2xx answers become rest-like errors
// mapped by status.
func (b *Backend) adminGet(ctx context.Context, path string, out any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.adminURL+"/admin/v2/"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: admin GET %s: %w", bridge.ErrUnavailable, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode/100 != 2 {
		return resp.Header, &httpError{code: resp.StatusCode, body: strings.TrimSpace(string(body))}
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return resp.Header, fmt.Errorf("admin GET %s: %w", path, err)
		}
	}
	return resp.Header, nil
}

type httpError struct {
	code int
	body string
}

func (e *httpError) Error() string { return fmt.Sprintf("admin HTTP %d: %s", e.code, e.body) }

// probeEntry reads one entry's broker metadata through the admin API
// (GET .../ledger/L/entry/E). This is the only way to learn an arbitrary
// entry's index without opening a reader: 4.0 has no getMessageIdByIndex.
func (b *Backend) probeEntry(ctx context.Context, t bridge.TopicName, p pos) (entryInfo, error) {
	if e, ok := b.index.lookupPos(t.String(), p); ok {
		return e, nil
	}
	path := fmt.Sprintf("%s/ledger/%d/entry/%d", restPath(t), p.ledger, p.entry)
	h, err := b.adminGet(ctx, path, nil)
	if err != nil && strings.Contains(err.Error(), "malformed MIME header") {
		// The broker puts the message key in a header as it is, and a
		// binary Kafka key (a Kafka Streams long, a control record's)
		// is no valid header for Go's HTTP client.
		h, err = b.lenientHeaders(ctx, path)
	}
	if err != nil {
		var he *httpError
		if errors.As(err, &he) && (he.code == 500 || he.code == 404 || he.code == 412) {
			return entryInfo{}, fmt.Errorf("%w: %s %v: %v", errNoEntry, t, p, err)
		}
		return entryInfo{}, err
	}
	idx := h.Get("X-Pulsar-Broker-Entry-METADATA-index")
	if idx == "" {
		return entryInfo{}, errIndexMissing
	}
	last, err := strconv.ParseInt(idx, 10, 64)
	if err != nil {
		return entryInfo{}, fmt.Errorf("entry %v of %s: bad index header %q", p, t, idx)
	}
	count := int64(1)
	if n := h.Get("X-Pulsar-num-batch-message"); n != "" {
		if c, err := strconv.ParseInt(n, 10, 64); err == nil && c > 0 {
			count = c
		}
	}
	var pub time.Time
	if s := h.Get("X-Pulsar-publish-time"); s != "" {
		pub, _ = time.Parse(time.RFC3339Nano, s)
	}
	e := entryInfo{pos: p, last: last, count: count, publish: pub}
	b.index.learn(t.String(), e)
	return e, nil
}

// errIndexMissing names the broker settings the backend depends on.
var errIndexMissing = errors.New("bridge/pulsar: the broker does not expose the message index; set " +
	"brokerEntryMetadataInterceptors=org.apache.pulsar.common.intercept.AppendIndexMetadataInterceptor and " +
	"exposingBrokerEntryMetadataToClientEnabled=true in broker.conf")

type ledgerStat struct {
	LedgerID int64 `json:"ledgerId"`
	Entries  int64 `json:"entries"`
}

type internalStats struct {
	CurrentLedgerEntries int64                 `json:"currentLedgerEntries"`
	LastConfirmedEntry   string                `json:"lastConfirmedEntry"`
	Ledgers              []ledgerStat          `json:"ledgers"`
	Cursors              map[string]cursorStat `json:"cursors"`
}

type cursorStat struct {
	MarkDeletePosition          string `json:"markDeletePosition"`
	IndividuallyDeletedMessages string `json:"individuallyDeletedMessages"`
}

func parsePos(s string) (pos, bool) {
	l, e, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return pos{}, false
	}
	li, err1 := strconv.ParseInt(l, 10, 64)
	ei, err2 := strconv.ParseInt(e, 10, 64)
	return pos{li, ei}, err1 == nil && err2 == nil
}

// ledgers lists a partition's ledgers with their entry counts (the current
// ledger's count from currentLedgerEntries), the space the index search walks.
func (b *Backend) internalStats(ctx context.Context, t bridge.TopicName) (internalStats, error) {
	var st internalStats
	_, err := b.adminGet(ctx, restPath(t)+"/internalStats", &st)
	if err != nil {
		return st, mapErr(err, topicScope, "internal stats of "+t.String())
	}
	if n := len(st.Ledgers); n > 0 {
		st.Ledgers[n-1].Entries = max(st.Ledgers[n-1].Entries, st.CurrentLedgerEntries)
	}
	return st, nil
}

// entryRef is the k-th entry of a partition counted over its ledgers.
type entrySpace struct{ ledgers []ledgerStat }

func (s entrySpace) total() int64 {
	var n int64
	for _, l := range s.ledgers {
		n += max(l.Entries, 0)
	}
	return n
}

func (s entrySpace) at(k int64) pos {
	for _, l := range s.ledgers {
		if k < l.Entries {
			return pos{l.LedgerID, k}
		}
		k -= max(l.Entries, 0)
	}
	return pos{-1, -1}
}

// findEntry finds the entry holding index i: from the sparse index when it
// knows, else by a binary search over the partition's entries with one
// admin probe per step (log2(entries) round trips). ok is false when i is
// past the last stored message.
func (b *Backend) findEntry(ctx context.Context, t bridge.TopicName, i int64) (e entryInfo, ok bool, err error) {
	if e, ok := b.index.lookupIndex(t.String(), i); ok {
		return e, true, nil
	}
	st, err := b.internalStats(ctx, t)
	if err != nil {
		return entryInfo{}, false, err
	}
	space := entrySpace{st.Ledgers}
	lo, hi := int64(0), space.total() // find the smallest k with last(k) >= i
	var found entryInfo
	for lo < hi {
		mid := lo + (hi-lo)/2
		pe, err := b.probeEntry(ctx, t, space.at(mid))
		if errors.Is(err, errNoEntry) { // trimmed or not yet readable: look later
			lo = mid + 1
			continue
		}
		if err != nil {
			return entryInfo{}, false, err
		}
		if pe.last >= i {
			found, hi = pe, mid
		} else {
			lo = mid + 1
		}
	}
	if found.count == 0 {
		return entryInfo{}, false, nil
	}
	return found, true, nil
}

// lastEntry is the partition's last stored entry; ok is false when empty.
func (b *Backend) lastEntry(ctx context.Context, t bridge.TopicName) (entryInfo, bool, error) {
	var id struct {
		LedgerID int64 `json:"ledgerId"`
		EntryID  int64 `json:"entryId"`
	}
	if _, err := b.adminGet(ctx, restPath(t)+"/lastMessageId", &id); err != nil {
		return entryInfo{}, false, mapErr(err, topicScope, "last message of "+t.String())
	}
	if id.EntryID < 0 {
		return entryInfo{}, false, nil
	}
	e, err := b.probeEntry(ctx, t, pos{id.LedgerID, id.EntryID})
	if errors.Is(err, errNoEntry) {
		return entryInfo{}, false, nil
	}
	return e, err == nil, err
}

// firstEntry is the partition's first stored entry.
func (b *Backend) firstEntry(ctx context.Context, t bridge.TopicName) (entryInfo, bool, error) {
	st, err := b.internalStats(ctx, t)
	if err != nil {
		return entryInfo{}, false, err
	}
	space := entrySpace{st.Ledgers}
	for k := range min(space.total(), 8) {
		e, err := b.probeEntry(ctx, t, space.at(k))
		if errors.Is(err, errNoEntry) {
			continue
		}
		return e, err == nil, err
	}
	return entryInfo{}, false, nil
}

// lenientHeaders GETs an admin path over a connection of its own and reads
// the answer's headers, skipping lines net/http would refuse; the body is
// not read. Only for probeEntry's answers, whose headers hold the key.
func (b *Backend) lenientHeaders(ctx context.Context, path string) (http.Header, error) {
	u, err := url.Parse(b.adminURL + "/admin/v2/" + path)
	if err != nil {
		return nil, err
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[bool]string{true: "443", false: "80"}[u.Scheme == "https"])
	}
	var d net.Dialer
	var conn net.Conn
	if u.Scheme == "https" {
		td := tls.Dialer{NetDialer: &d, Config: b.sec.tls}
		conn, err = td.DialContext(ctx, "tcp", host)
	} else {
		conn, err = d.DialContext(ctx, "tcp", host)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: admin GET %s: %w", bridge.ErrUnavailable, path, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nConnection: close\r\n"
	if h, err := b.sec.bearer(); err != nil {
		return nil, err
	} else if h != "" {
		req += "Authorization: " + h + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		return nil, fmt.Errorf("%w: admin GET %s: %w", bridge.ErrUnavailable, path, err)
	}
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("%w: admin GET %s: %w", bridge.ErrUnavailable, path, err)
	}
	var code int
	if f := strings.Fields(status); len(f) >= 2 {
		code, _ = strconv.Atoi(f[1])
	}
	h := http.Header{}
	for {
		line, err := br.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" || err != nil {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	if code/100 != 2 {
		return h, &httpError{code: code, body: status}
	}
	return h, nil
}
