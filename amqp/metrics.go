package amqp

import (
	"errors"
	"strconv"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
)

// countRequest counts a client's method by its outcome: 200, or the reply
// code of the channel or connection error it caused.
func (s *Server) countRequest(m wire.Method, err error) {
	if s.opts.Metrics == nil {
		return
	}
	code := "200"
	var we *wire.Error
	if errors.As(err, &we) {
		code = strconv.Itoa(int(we.Code))
	} else if err != nil {
		code = "connection_closed"
	}
	s.opts.Metrics.Request(m.Name(), code)
}
