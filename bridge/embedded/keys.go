package embedded

import "encoding/binary"

// Key layout in the store. Every key starts with one byte naming its kind;
// message keys are short and fixed-size so that a partition's messages sort
// by index and a range of them is one iterator.
//
//	'T' topic-name                   -> partition count (varint; 0: not partitioned)
//	'P' partition-name               -> partition id (8 bytes)
//	'M' partition-id(8) last(8)      -> message group: the messages up to
//	                                    index last (group.go)
//	'C' partition-id(8) subscription -> encoded cursor
//	'S' table 0x00 key               -> state value
//	'O' topic-name                   -> topic policy (policy.go)
//	'L' partition-id(8)              -> log start: the first index (8 bytes),
//	                                    once DeleteBefore or retention moved it
const (
	kindTopic     = 'T'
	kindPartition = 'P'
	kindMessage   = 'M'
	kindCursor    = 'C'
	kindState     = 'S'
	kindPolicy    = 'O'
	kindLogStart  = 'L'
)

func policyKey(topic string) []byte { return append([]byte{kindPolicy}, topic...) }

func logStartKey(partID uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{kindLogStart}, partID)
}

func topicKey(name string) []byte     { return append([]byte{kindTopic}, name...) }
func partitionKey(name string) []byte { return append([]byte{kindPartition}, name...) }

// messageKeyLen is the size of a message group's key.
const messageKeyLen = 17

// messageKey is the key of the group whose last message has this index.
// Groups of a partition hold consecutive indexes, so a SeekGE to the key of
// index i lands on the group holding i.
func messageKey(dst []byte, partID uint64, index int64) []byte {
	dst = append(dst, kindMessage)
	dst = binary.BigEndian.AppendUint64(dst, partID)
	return binary.BigEndian.AppendUint64(dst, uint64(index))
}

// messageKeyIndex is the index inside a message key: the group's last.
func messageKeyIndex(k []byte) int64 { return int64(binary.BigEndian.Uint64(k[9:17])) }

func cursorKey(partID uint64, sub string) []byte {
	k := binary.BigEndian.AppendUint64([]byte{kindCursor}, partID)
	return append(k, sub...)
}

// cursorPrefix bounds all cursors of one partition.
func cursorPrefix(partID uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{kindCursor}, partID)
}

func stateKey(table, key string) []byte {
	k := append([]byte{kindState}, table...)
	k = append(k, 0)
	return append(k, key...)
}

func statePrefix(table string) []byte {
	return append(append([]byte{kindState}, table...), 0)
}

// prefixEnd is the smallest key greater than every key with this prefix.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // every byte is 0xff: no upper bound
}
