package clienttest

import (
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

type modelVersion struct {
	version                       int
	source, runID, runLink        string
	stage, status, description    string
	creationTime, lastUpdatedTime int64
	tags                          []kv
}

type registeredModel struct {
	name                          string
	creationTime, lastUpdatedTime int64
	versions                      []*modelVersion // version n at index n-1
	aliases                       map[string]int
}

func (m *registeredModel) wireVersion(v *modelVersion) wModelVersion {
	out := wModelVersion{
		Name:                 m.name,
		Version:              strconv.Itoa(v.version),
		CreationTimestamp:    v.creationTime,
		LastUpdatedTimestamp: v.lastUpdatedTime,
		CurrentStage:         v.stage,
		Description:          v.description,
		Source:               v.source,
		RunID:                v.runID,
		Status:               v.status,
		Tags:                 wireTags(v.tags),
		RunLink:              v.runLink,
	}
	for a, n := range m.aliases {
		if n == v.version {
			out.Aliases = append(out.Aliases, a)
		}
	}
	slices.Sort(out.Aliases)
	return out
}

func validateModelName(name *string) *apiErr {
	if name == nil || strings.TrimSpace(*name) == "" {
		return missingParam("name")
	}
	if strings.ContainsAny(*name, "/:") {
		return invalidf("Invalid model name '%s'. Names cannot contain '/' or ':'.", *name)
	}
	return nil
}

func (s *Server) modelByName(name string) (*registeredModel, *apiErr) {
	m, ok := s.models[name]
	if !ok {
		return nil, notFoundf("Registered Model with name=%s not found", name)
	}
	return m, nil
}

func (m *registeredModel) version(v string) (*modelVersion, *apiErr) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, invalidf("Parameter 'version' must be an integer, got '%s'.", v)
	}
	if n < 1 || n > len(m.versions) || m.versions[n-1] == nil {
		return nil, notFoundf("Model Version (name=%s, version=%s) not found", m.name, v)
	}
	return m.versions[n-1], nil
}

func (s *Server) createRegisteredModel(w http.ResponseWriter, r *http.Request) *apiErr {
	var req struct {
		Name        *string `json:"name"`
		Description string  `json:"description"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if err := validateModelName(req.Name); err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	if _, dup := s.models[*req.Name]; dup {
		return errf(codeAlreadyExists, "Registered Model (name=%s) already exists.", *req.Name)
	}
	now := s.millis()
	m := &registeredModel{name: *req.Name, creationTime: now, lastUpdatedTime: now, aliases: map[string]int{}}
	s.models[m.name] = m
	writeJSON(w, http.StatusOK, map[string]wRegisteredModel{"registered_model": m.wire(req.Description)})
	return nil
}

func (m *registeredModel) wire(description string) wRegisteredModel {
	out := wRegisteredModel{Name: m.name, CreationTimestamp: m.creationTime, LastUpdatedTimestamp: m.lastUpdatedTime, Description: description}
	for a, v := range m.aliases {
		out.Aliases = append(out.Aliases, wAlias{Alias: a, Version: strconv.Itoa(v)})
	}
	slices.SortFunc(out.Aliases, func(a, b wAlias) int { return strings.Compare(a.Alias, b.Alias) })
	return out
}

func (s *Server) getRegisteredModel(w http.ResponseWriter, r *http.Request) *apiErr {
	name := r.URL.Query().Get("name")
	if err := validateModelName(&name); err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	m, err := s.modelByName(name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]wRegisteredModel{"registered_model": m.wire("")})
	return nil
}

func (s *Server) createModelVersion(w http.ResponseWriter, r *http.Request) *apiErr {
	var req struct {
		Name        *string `json:"name"`
		Source      *string `json:"source"`
		RunID       string  `json:"run_id"`
		RunLink     string  `json:"run_link"`
		Description string  `json:"description"`
		Tags        []rTag  `json:"tags"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if err := validateModelName(req.Name); err != nil {
		return err
	}
	if req.Source == nil || *req.Source == "" {
		return missingParam("source")
	}
	s.lock()
	defer s.mu.Unlock()
	// The source is checked before the model is looked up.
	if err := s.checkModelSource(*req.Source, req.RunID); err != nil {
		return err
	}
	m, err := s.modelByName(*req.Name)
	if err != nil {
		return err
	}
	now := s.millis()
	v := &modelVersion{
		version: len(m.versions) + 1, source: *req.Source, runID: req.RunID, runLink: req.RunLink,
		stage: "None", status: "READY", description: req.Description, creationTime: now, lastUpdatedTime: now,
	}
	for _, t := range req.Tags {
		if t.Key == nil {
			return missingParam("key")
		}
		val := ""
		if t.Value != nil {
			val = *t.Value
		}
		v.tags = setKV(v.tags, *t.Key, val)
	}
	m.versions = append(m.versions, v)
	m.lastUpdatedTime = now
	writeJSON(w, http.StatusOK, map[string]wModelVersion{"model_version": m.wireVersion(v)})
	return nil
}

func (s *Server) getModelVersion(w http.ResponseWriter, r *http.Request) *apiErr {
	q := r.URL.Query()
	name := q.Get("name")
	if err := validateModelName(&name); err != nil {
		return err
	}
	if q.Get("version") == "" {
		return missingParam("version")
	}
	s.lock()
	defer s.mu.Unlock()
	m, err := s.modelByName(name)
	if err != nil {
		return err
	}
	v, err := m.version(q.Get("version"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]wModelVersion{"model_version": m.wireVersion(v)})
	return nil
}

func validateAlias(alias string) *apiErr {
	if alias == "" {
		return missingParam("alias")
	}
	ok := utf8.RuneCountInString(alias) <= maxAliasLength
	for _, r := range alias {
		if !isWordRune(r) && r != '-' {
			ok = false
		}
	}
	if !ok {
		return invalidf("Invalid alias name: '%s'. Names may only contain alphanumerics, underscores (_), and dashes (-), and must be at most %d characters long.", alias, maxAliasLength)
	}
	if strings.EqualFold(alias, "latest") || reservedAlias.MatchString(alias) {
		return invalidf("Version alias name '%s' is reserved.", alias)
	}
	return nil
}

// alias serves POST (set), GET (get by alias) and DELETE on
// registered-models/alias.
func (s *Server) alias(w http.ResponseWriter, r *http.Request) *apiErr {
	var req struct {
		Name    *string `json:"name"`
		Alias   string  `json:"alias"`
		Version string  `json:"version"`
	}
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		name := q.Get("name")
		req.Name, req.Alias = &name, q.Get("alias")
	} else if err := decodeBody(r, &req); err != nil {
		return err
	}
	if err := validateModelName(req.Name); err != nil {
		return err
	}
	if r.Method != http.MethodGet {
		if err := validateAlias(req.Alias); err != nil {
			return err
		}
	} else if req.Alias == "" {
		return missingParam("alias")
	}
	s.lock()
	defer s.mu.Unlock()
	m, err := s.modelByName(*req.Name)
	if err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet:
		n, ok := m.aliases[req.Alias]
		if !ok {
			// 400, not 404, on the real server (3.17).
			return invalidf("Registered model alias %s not found.", req.Alias)
		}
		writeJSON(w, http.StatusOK, map[string]wModelVersion{"model_version": m.wireVersion(m.versions[n-1])})
	case http.MethodPost:
		if req.Version == "" {
			return missingParam("version")
		}
		v, err := m.version(req.Version)
		if err != nil {
			return err
		}
		m.aliases[req.Alias] = v.version
		writeJSON(w, http.StatusOK, empty{})
	default:
		delete(m.aliases, req.Alias)
		writeJSON(w, http.StatusOK, empty{})
	}
	return nil
}

var uriScheme = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*):`)

// checkModelSource is the server's _validate_source_run. A local path (no
// URI scheme, or file:) needs a run_id and must lie in that run's local
// artifact directory, so with a proxied (mlflow-artifacts:) run it is
// always rejected; a runs:/<run_id>/... source needs the same run_id; an
// mlflow-artifacts: source must lie under the run's artifact URI. Callers
// hold s.mu.
func (s *Server) checkModelSource(source, runID string) *apiErr {
	const mustIdentify = "Invalid model version source: '%s'. The run_id request parameter must identify the resource that contains the source."
	m := uriScheme.FindStringSubmatch(source)
	scheme := ""
	if m != nil {
		scheme = strings.ToLower(m[1])
	}
	switch scheme {
	case "", "file":
		shown := source
		if runID != "" {
			// The real server shows the path resolved against its own
			// working directory.
			if abs, err := filepath.Abs(strings.TrimPrefix(source, "file://")); err == nil {
				shown = abs
			}
		}
		return invalidf("Invalid model version source: '%s'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.", shown)
	case "runs":
		rest := strings.TrimPrefix(source[len(m[0]):], "/")
		srcRun, _, _ := strings.Cut(rest, "/")
		if strings.HasPrefix(source[len(m[0]):], "//") || runID == "" || srcRun != runID {
			return invalidf(mustIdentify, source)
		}
	case "mlflow-artifacts":
		rn, ok := s.runs[runID]
		if runID == "" || !ok || !strings.HasPrefix(source, rn.artifactURI) {
			return invalidf(mustIdentify, source)
		}
	}
	return nil
}

var stageNames = map[string]string{"none": "None", "staging": "Staging", "production": "Production", "archived": "Archived"}

func (s *Server) getLatestVersions(w http.ResponseWriter, r *http.Request) *apiErr {
	var req struct {
		Name   *string  `json:"name"`
		Stages []string `json:"stages"`
	}
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		name := q.Get("name")
		req.Name, req.Stages = &name, q["stages"]
	} else if err := decodeBody(r, &req); err != nil {
		return err
	}
	if err := validateModelName(req.Name); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, st := range req.Stages {
		canon, ok := stageNames[strings.ToLower(st)]
		if !ok {
			return invalidf("Invalid Model Version stage: %s. Value must be one of None, Staging, Production, Archived.", st)
		}
		want[canon] = true
	}
	s.lock()
	defer s.mu.Unlock()
	m, err := s.modelByName(*req.Name)
	if err != nil {
		return err
	}
	latest := map[string]*modelVersion{}
	for _, v := range m.versions {
		if v == nil || (len(want) > 0 && !want[v.stage]) {
			continue
		}
		if cur, ok := latest[v.stage]; !ok || v.version > cur.version {
			latest[v.stage] = v
		}
	}
	var resp struct {
		ModelVersions []wModelVersion `json:"model_versions,omitempty"`
	}
	for _, v := range latest {
		resp.ModelVersions = append(resp.ModelVersions, m.wireVersion(v))
	}
	slices.SortFunc(resp.ModelVersions, func(a, b wModelVersion) int { return strings.Compare(a.CurrentStage, b.CurrentStage) })
	writeJSON(w, http.StatusOK, resp)
	return nil
}
