// Package wire is the AMQP 0-9-1 codec of the gateway, server side: frames, method arguments,
// content headers and field tables, as RabbitMQ and its clients speak them. It holds no
// connection or channel state; the amqp package does.
//
// Method structs and their encoding are generated from the spec XML shipped by amqp091-go
// (methods_gen.go, by ./gen). Field tables use RabbitMQ's type letters, not the 0-9-1 spec's.
//
// Every malformed input yields an *Error carrying the reply code to close with; nothing in
// this package panics on input. Errors of the underlying reader or writer are returned as is.
package wire

//go:generate go run ./gen -o methods_gen.go
