// Package bridgetest is the conformance suite of the bridge contract: one
// set of tests, written against the bridge interfaces only, that every
// backend (bridge/embedded, bridge/pulsar) must pass, so a protocol handler
// that works on one works on the other.
//
// A backend runs it from a test of its own package:
//
//	func TestConformance(t *testing.T) {
//		bridgetest.Run(t, bridgetest.Harness{
//			New: func(t *testing.T) bridge.Backend {
//				b, err := embedded.Open(embedded.Options{InMemory: true})
//				if err != nil {
//					t.Fatal(err)
//				}
//				t.Cleanup(func() { b.Close() })
//				return b
//			},
//			// Reopen (optional) closes b and opens the same store again;
//			// it enables the Restart tests. Use a t.TempDir() store.
//			Quiet: 300 * time.Millisecond, // 1-2s on a real broker
//		})
//	}
//
// Tests are subtests named Group/Test (Topics, Produce, Index, Readers,
// Subscriptions, Acks, Backlog, Pattern, FlowControl, State, Restart,
// Closed), so `go test -run 'Conformance/Acks/Nack'` runs one. Every test
// makes its own uniquely named topics (test name and a random suffix) in
// Harness.Namespace and deletes them at the end, so a shared Pulsar broker
// works; set Harness.Parallel to run the tests of a group in parallel.
// Every wait is bounded by Harness.Wait; Harness.Quiet is how long the suite
// waits to be sure something does NOT happen.
package bridgetest
