//go:build race

package mqtt

// raceEnabled: the race detector makes goroutine stacks bigger.
const raceEnabled = true
