package evaluate

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// jsonFloat is a float64 whose JSON form survives NaN and ±Inf: finite
// values are numbers, NaN and ±Inf the strings "NaN", "Infinity" and
// "-Infinity". Decoding accepts both forms.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("evaluate: float: %w", err)
		}
		switch s {
		case "NaN":
			*f = jsonFloat(math.NaN())
		case "Infinity", "+Infinity", "Inf", "+Inf":
			*f = jsonFloat(math.Inf(1))
		case "-Infinity", "-Inf":
			*f = jsonFloat(math.Inf(-1))
		default:
			return fmt.Errorf("evaluate: float: invalid string %q", s)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("evaluate: float: %w", err)
	}
	*f = jsonFloat(v)
	return nil
}

// featureDriftJSON mirrors FeatureDrift field by field, in the same order,
// with NaN-safe floats.
type featureDriftJSON struct {
	Feature     string      `json:"feature"`
	Segment     string      `json:"segment,omitempty"`
	Type        ColumnType  `json:"type"`
	Method      Method      `json:"method"`
	Kind        ScoreKind   `json:"kind"`
	Score       jsonFloat   `json:"score"`
	Statistic   jsonFloat   `json:"statistic"`
	PValue      jsonFloat   `json:"p_value"`
	Threshold   jsonFloat   `json:"threshold"`
	Rule        string      `json:"rule"`
	Drifted     bool        `json:"drifted"`
	Status      DriftStatus `json:"status"`
	RefN        int         `json:"ref_n"`
	CurN        int         `json:"cur_n"`
	RefDropped  int         `json:"ref_dropped"`
	CurDropped  int         `json:"cur_dropped"`
	Bins        string      `json:"bins,omitempty"`
	ZeroFill    string      `json:"zero_fill,omitempty"`
	LogBase     string      `json:"log_base,omitempty"`
	Detail      string      `json:"detail,omitempty"`
	Approximate bool        `json:"approximate,omitempty"`
	Message     string      `json:"message"`
}

// MarshalJSON encodes d with NaN and ±Inf floats as strings.
func (d FeatureDrift) MarshalJSON() ([]byte, error) {
	return json.Marshal(featureDriftJSON{
		Feature: d.Feature, Segment: d.Segment, Type: d.Type, Method: d.Method, Kind: d.Kind,
		Score: jsonFloat(d.Score), Statistic: jsonFloat(d.Statistic), PValue: jsonFloat(d.PValue),
		Threshold: jsonFloat(d.Threshold), Rule: d.Rule, Drifted: d.Drifted, Status: d.Status,
		RefN: d.RefN, CurN: d.CurN, RefDropped: d.RefDropped, CurDropped: d.CurDropped,
		Bins: d.Bins, ZeroFill: d.ZeroFill, LogBase: d.LogBase, Detail: d.Detail,
		Approximate: d.Approximate, Message: d.Message,
	})
}

// UnmarshalJSON decodes what MarshalJSON writes (and plain numbers).
func (d *FeatureDrift) UnmarshalJSON(b []byte) error {
	var j featureDriftJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("evaluate: feature drift: %w", err)
	}
	*d = FeatureDrift{
		Feature: j.Feature, Segment: j.Segment, Type: j.Type, Method: j.Method, Kind: j.Kind,
		Score: float64(j.Score), Statistic: float64(j.Statistic), PValue: float64(j.PValue),
		Threshold: float64(j.Threshold), Rule: j.Rule, Drifted: j.Drifted, Status: j.Status,
		RefN: j.RefN, CurN: j.CurN, RefDropped: j.RefDropped, CurDropped: j.CurDropped,
		Bins: j.Bins, ZeroFill: j.ZeroFill, LogBase: j.LogBase, Detail: j.Detail,
		Approximate: j.Approximate, Message: j.Message,
	}
	return nil
}

type ksResultJSON struct {
	Statistic   jsonFloat   `json:"statistic"`
	PValue      jsonFloat   `json:"p_value"`
	Method      KSMethod    `json:"method"`
	Alternative Alternative `json:"alternative"`
}

// MarshalJSON encodes r with NaN and ±Inf floats as strings.
func (r KSResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(ksResultJSON{jsonFloat(r.Statistic), jsonFloat(r.PValue), r.Method, r.Alternative})
}

// UnmarshalJSON decodes what MarshalJSON writes.
func (r *KSResult) UnmarshalJSON(b []byte) error {
	var j ksResultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("evaluate: ks result: %w", err)
	}
	*r = KSResult{Statistic: float64(j.Statistic), PValue: float64(j.PValue), Method: j.Method, Alternative: j.Alternative}
	return nil
}

type chiSquareResultJSON struct {
	Statistic jsonFloat `json:"statistic"`
	PValue    jsonFloat `json:"p_value"`
	DOF       int       `json:"dof"`
}

// MarshalJSON encodes r with an infinite statistic as "Infinity".
func (r ChiSquareResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(chiSquareResultJSON{jsonFloat(r.Statistic), jsonFloat(r.PValue), r.DOF})
}

// UnmarshalJSON decodes what MarshalJSON writes.
func (r *ChiSquareResult) UnmarshalJSON(b []byte) error {
	var j chiSquareResultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("evaluate: chi-square result: %w", err)
	}
	*r = ChiSquareResult{Statistic: float64(j.Statistic), PValue: float64(j.PValue), DOF: j.DOF}
	return nil
}
