package kafka

import (
	"context"
	"reflect"
	"strconv"

	"github.com/pulsar-gateway/pulsar-gateway/metrics"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// codeClosed is the request metric's code for a request that closed its
// connection instead of answering.
const codeClosed = "CONNECTION_CLOSED"

// fetchedRecords counts the records of what a Fetch returns.
func fetchedRecords(got []fetched) int {
	n := 0
	for _, f := range got {
		if f.rb != nil {
			n += f.rb.Count
		} else {
			n++
		}
	}
	return n
}

// responseCode is the Kafka error name a response answers with: its own
// error code, else the first failing topic's or partition's, else NONE.
// Produce and Fetch, at message rates, are looked at directly; the rest
// by reflection.
func responseCode(resp kmsg.Response) string {
	var code int16
	switch r := resp.(type) {
	case *kmsg.ProduceResponse:
	produce:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				if code = r.Topics[i].Partitions[j].ErrorCode; code != 0 {
					break produce
				}
			}
		}
	case *kmsg.FetchResponse:
		code = r.ErrorCode
	fetch:
		for i := 0; code == 0 && i < len(r.Topics); i++ {
			for j := range r.Topics[i].Partitions {
				if code = r.Topics[i].Partitions[j].ErrorCode; code != 0 {
					break fetch
				}
			}
		}
	default:
		code = firstErrorCode(reflect.ValueOf(resp), 3)
	}
	if code == 0 {
		return "NONE"
	}
	if err := kerr.ErrorForCode(code); err != nil {
		if ke, ok := err.(*kerr.Error); ok {
			return ke.Message
		}
	}
	return "UNKNOWN_SERVER_ERROR"
}

// firstErrorCode finds the first non-zero ErrorCode field in v, looking
// depth levels of nested slices deep.
func firstErrorCode(v reflect.Value, depth int) int16 {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return 0
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		if f := v.FieldByName("ErrorCode"); f.IsValid() && f.Kind() == reflect.Int16 && f.Int() != 0 {
			return int16(f.Int())
		}
		if depth == 0 {
			return 0
		}
		for i := 0; i < v.NumField(); i++ {
			if f := v.Field(i); f.Kind() == reflect.Slice {
				if c := firstErrorCode(f, depth-1); c != 0 {
					return c
				}
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return 0
		}
		for i := 0; i < v.Len(); i++ {
			if c := firstErrorCode(v.Index(i), depth); c != 0 {
				return c
			}
		}
	}
	return 0
}

// LagFamilies are the gauges SampleLag fills.
var LagFamilies = []metrics.Family{{
	Name:   "kafka_consumer_group_lag",
	Help:   "Records a Kafka consumer group has not committed yet on a partition: the log end offset minus the committed offset, as kafka-consumer-groups shows it.",
	Labels: []string{"group", "topic", "partition"},
}}

// SampleLag puts the lag of every committed offset of every group, from
// shared state, so each gateway reports every group's lag the same.
func (h *Handler) SampleLag(ctx context.Context, put metrics.Put) error {
	groups, err := h.Groups(ctx)
	if err != nil {
		return err
	}
	for _, g := range groups {
		for _, o := range g.Offsets {
			if !o.LogEndUnknown {
				put(0, float64(o.Lag), g.Name, o.Topic, strconv.Itoa(int(o.Partition)))
			}
		}
	}
	return nil
}
