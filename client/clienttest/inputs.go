package clienttest

import (
	"fmt"
	"net/http"
	"unicode/utf8"
)

type rDataset struct {
	Name       *string `json:"name"`
	Digest     *string `json:"digest"`
	SourceType *string `json:"source_type"`
	Source     *string `json:"source"`
	Schema     string  `json:"schema"`
	Profile    string  `json:"profile"`
}

type rDatasetInput struct {
	Tags    []rTag    `json:"tags"`
	Dataset *rDataset `json:"dataset"`
}

func checkSize(what string, value string, limit int) *apiErr {
	if n := utf8.RuneCountInString(value); n > limit {
		return invalidf("%s exceeds the maximum length of %d", what, limit)
	}
	return nil
}

// validateDatasetInput is _validate_dataset_inputs for one input.
func validateDatasetInput(i int, in rDatasetInput) (datasetInput, *apiErr) {
	// The real server accepts missing dataset fields and stores "".
	var out datasetInput
	d := in.Dataset
	if d == nil {
		d = &rDataset{}
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	name, digest, sourceType, source := str(d.Name), str(d.Digest), str(d.SourceType), str(d.Source)
	for _, c := range []struct {
		what  string
		v     string
		limit int
	}{
		{"Dataset name", name, maxDatasetNameSize},
		{"Dataset digest", digest, maxDatasetDigestSize},
		{"Dataset source", source, maxDatasetSourceSize},
		{"Dataset schema", d.Schema, maxDatasetSchemaSize},
		{"Dataset profile", d.Profile, maxDatasetProfileSize},
	} {
		if err := checkSize(c.what, c.v, c.limit); err != nil {
			return out, err
		}
	}
	out.dataset = wDataset{Name: name, Digest: digest, SourceType: sourceType, Source: source, Schema: d.Schema, Profile: d.Profile}
	for _, t := range in.Tags {
		if t.Key == nil {
			return out, missingParam(fmt.Sprintf("datasets[%d].tags.key", i))
		}
		v := ""
		if t.Value != nil {
			v = *t.Value
		}
		if err := checkSize("Input tag key", *t.Key, maxInputTagKeySize); err != nil {
			return out, err
		}
		if err := checkSize("Input tag value", v, maxInputTagValueSize); err != nil {
			return out, err
		}
		out.tags = setKV(out.tags, *t.Key, v)
	}
	return out, nil
}

func (s *Server) logInputs(w http.ResponseWriter, r *http.Request) *apiErr {
	var req struct {
		runIDRequest
		Datasets []rDatasetInput `json:"datasets"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id, err := req.id()
	if err != nil {
		return err
	}
	if err := validateRunID(id); err != nil {
		return err
	}
	if len(req.Datasets) > maxDatasetsPerBatch {
		return invalidf("Log inputs request can contain at most %d datasets. Got %d datasets.", maxDatasetsPerBatch, len(req.Datasets))
	}
	inputs := make([]datasetInput, len(req.Datasets))
	for i, in := range req.Datasets {
		if inputs[i], err = validateDatasetInput(i, in); err != nil {
			return err
		}
	}
	s.lock()
	defer s.mu.Unlock()
	rn, err := s.activeRun(id)
	if err != nil {
		return err
	}
	// A dataset is identified by (name, digest) within the experiment; an
	// input linking the same dataset to the run again is ignored.
	for _, in := range inputs {
		dup := false
		for _, have := range rn.inputs {
			if have.dataset.Name == in.dataset.Name && have.dataset.Digest == in.dataset.Digest {
				dup = true
				break
			}
		}
		if !dup {
			rn.inputs = append(rn.inputs, in)
		}
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}
