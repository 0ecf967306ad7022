package remoting

import (
	"errors"
	"fmt"
	"strconv"
)

// Flag bits of Command.Flag (RemotingCommand's RPC_TYPE and RPC_ONEWAY bit positions).
const (
	FlagResponse int32 = 1 << 0 // a response; clear in a request
	FlagOneway   int32 = 1 << 1 // a request that gets no response
)

// SerializeType is how a frame's header is serialized: the high byte of its header-length
// word (RocketMQ's SerializeType).
type SerializeType uint8

const (
	JSON     SerializeType = 0 // fastjson's text of RemotingCommand; what clients send by default
	RocketMQ SerializeType = 1 // RocketMQSerializable's binary layout
)

func (s SerializeType) String() string {
	switch s {
	case JSON:
		return "JSON"
	case RocketMQ:
		return "ROCKETMQ"
	}
	return "SerializeType(" + strconv.Itoa(int(s)) + ")"
}

// Language is the client's implementation language, as RocketMQ's LanguageCode: a byte in
// the binary header, a name in JSON. Brokers only display it.
type Language uint8

// LanguageCode's values (rocketmq-remoting 5.1.4).
const (
	Java   Language = 0
	CPP    Language = 1
	DotNet Language = 2
	Python Language = 3
	Delphi Language = 4
	Erlang Language = 5
	Ruby   Language = 6
	Other  Language = 7
	HTTP   Language = 8
	Go     Language = 9
	PHP    Language = 10
	OMS    Language = 11
	Rust   Language = 12
)

var languageNames = [...]string{"JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY",
	"OTHER", "HTTP", "GO", "PHP", "OMS", "RUST"}

// String is the JSON name of l ("JAVA", "GO"), or its number for a code Java does not know.
func (l Language) String() string {
	if int(l) < len(languageNames) {
		return languageNames[l]
	}
	return strconv.Itoa(int(l))
}

// languageByName is the inverse of String for the named codes.
func languageByName(name string) (Language, bool) {
	for i, n := range languageNames {
		if n == name {
			return Language(i), true
		}
	}
	return 0, false
}

// Command is one request or response, RocketMQ's RemotingCommand. Code is a RequestCode in
// a request and a ResponseCode in a response; Opaque pairs a response with its request.
type Command struct {
	Code     int32
	Language Language
	Version  int32 // the sender's MQVersion ordinal
	Opaque   int32
	Flag     int32
	Remark   string
	// ExtFields is the custom header: every field a string, as Java's RemotingCommand
	// converts them. Nil and empty are the same on the wire.
	ExtFields map[string]string
	Body      []byte
	// Serialize is the header serialization the command arrived in, or is to be written in.
	Serialize SerializeType
}

// IsResponse reports whether c is a response.
func (c *Command) IsResponse() bool { return c.Flag&FlagResponse != 0 }

// IsOneway reports whether c is a request that expects no response.
func (c *Command) IsOneway() bool { return c.Flag&FlagOneway != 0 }

// NewResponse returns a response to request c: the same opaque and serialization (clients
// match responses by opaque and may not read another serialization than they sent), the
// given code and remark, Java as its language, as a Java broker answers.
func (c *Command) NewResponse(code int32, remark string) *Command {
	return &Command{
		Code:      code,
		Language:  Java,
		Version:   c.Version,
		Opaque:    c.Opaque,
		Flag:      FlagResponse,
		Remark:    remark,
		Serialize: c.Serialize,
	}
}

// String is a short description for logs: kind, code name, opaque, remark. It omits the
// ext fields and body, which may hold anything.
func (c *Command) String() string {
	kind, name := "request", RequestCodeName(c.Code)
	if c.IsResponse() {
		kind, name = "response", ResponseCodeName(c.Code)
	}
	if name == "" {
		name = strconv.Itoa(int(c.Code))
	}
	s := fmt.Sprintf("%s %s opaque=%d", kind, name, c.Opaque)
	if c.Remark != "" {
		s += " remark=" + strconv.Quote(c.Remark)
	}
	return s
}

var (
	// ErrMalformed is wrapped by every error about bad input: a frame or header that is not
	// what RocketMQ's codec writes. The connection is beyond repair: close it, as RocketMQ's
	// NettyDecoder does.
	ErrMalformed = errors.New("rocketmq remoting: malformed frame")
	// ErrFrameTooLarge is wrapped by the error for a frame over the limit, read or written.
	ErrFrameTooLarge = errors.New("rocketmq remoting: frame too large")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}
