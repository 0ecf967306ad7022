package kafka

import "github.com/pulsar-gateway/pulsar-gateway/txnindex"

// txnUnitOf reads what a fetched unit says of transactions: a kept batch's
// header, or a message's batch tag (package txnindex).
func txnUnitOf(f fetched) (txnindex.Unit, bool) {
	if f.rb != nil {
		return txnindex.ParseRaw(f.rb.Data)
	}
	if f.m == nil {
		return txnindex.Unit{}, false
	}
	return txnindex.ParseTag(f.m.BatchTag)
}
