package alerting

import (
	"errors"
	"math"

	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

// decodeWriteRequest is an independent test decoder for remote-write 1.0
// bodies (snappy block + protobuf), used to check what the encoder sends.
func decodeWriteRequest(body []byte) ([]Series, error) {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, err
	}
	return decodeProto(raw)
}

var errBadProto = errors.New("bad protobuf")

func decodeProto(b []byte) ([]Series, error) {
	var out []Series
	err := forFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 1 || typ != protowire.BytesType {
			return nil
		}
		var s Series
		err := forFields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
			switch {
			case num == 1 && typ == protowire.BytesType:
				var l Label
				err := forFields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
					if typ != protowire.BytesType {
						return nil
					}
					switch num {
					case 1:
						l.Name = string(v)
					case 2:
						l.Value = string(v)
					}
					return nil
				})
				s.Labels = append(s.Labels, l)
				return err
			case num == 2 && typ == protowire.BytesType:
				var smp Sample
				err := forFields(v, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
					switch {
					case num == 1 && typ == protowire.Fixed64Type:
						smp.Value = math.Float64frombits(x)
					case num == 2 && typ == protowire.VarintType:
						smp.Timestamp = int64(x)
					}
					return nil
				})
				s.Samples = append(s.Samples, smp)
				return err
			}
			return nil
		})
		out = append(out, s)
		return err
	})
	return out, err
}

// forFields walks the fields of one message; v is set for bytes fields, x
// for varint and fixed64 fields.
func forFields(b []byte, fn func(protowire.Number, protowire.Type, []byte, uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errBadProto
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errBadProto
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}
