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

// featureDriftJSON mirrors FeatureDrift with NaN-safe floats.
type featureDriftJSON struct {
	featureDriftAlias
	Score     jsonFloat `json:"score"`
	Statistic jsonFloat `json:"statistic"`
	PValue    jsonFloat `json:"p_value"`
	Threshold jsonFloat `json:"threshold"`
}

type featureDriftAlias FeatureDrift

// MarshalJSON encodes d with NaN and ±Inf floats as strings.
func (d FeatureDrift) MarshalJSON() ([]byte, error) {
	return json.Marshal(featureDriftJSON{
		featureDriftAlias: featureDriftAlias(d),
		Score:             jsonFloat(d.Score),
		Statistic:         jsonFloat(d.Statistic),
		PValue:            jsonFloat(d.PValue),
		Threshold:         jsonFloat(d.Threshold),
	})
}

// UnmarshalJSON decodes what MarshalJSON writes (and plain numbers).
func (d *FeatureDrift) UnmarshalJSON(b []byte) error {
	var j featureDriftJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("evaluate: feature drift: %w", err)
	}
	*d = FeatureDrift(j.featureDriftAlias)
	d.Score, d.Statistic, d.PValue, d.Threshold = float64(j.Score), float64(j.Statistic), float64(j.PValue), float64(j.Threshold)
	return nil
}
