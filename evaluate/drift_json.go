package evaluate

import (
	"encoding/json"
	"fmt"
)

// jsonFloat is the NaN-safe JSON float of the drift results: Float, under
// a name that keeps the mirror structs below readable.
type jsonFloat = Float

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
