package pulsar

import "go.uber.org/zap"

func zapTopic(t string) zap.Field { return zap.String("topic", t) }
func zapErr(err error) zap.Field  { return zap.Error(err) }
