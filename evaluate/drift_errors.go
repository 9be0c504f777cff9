package evaluate

import "errors"

// Sentinel errors of the drift functions. They are wrapped with context;
// test for them with errors.Is.
var (
	// ErrEmptySample is returned by the low-level statistics (such as
	// [KolmogorovSmirnov] and [Wasserstein]) when a sample is empty. The
	// Compare functions do not return it: they report
	// [StatusInsufficientData] instead.
	ErrEmptySample = errors.New("evaluate: empty sample")
	// ErrNonFinite is returned by the low-level statistics when a sample
	// holds NaN (or, where the statistic needs finite values, ±Inf). The
	// Compare functions drop and count such values instead.
	ErrNonFinite = errors.New("evaluate: non-finite value")
	// ErrInvalidDriftOption is returned for an invalid drift option,
	// method, alternative, threshold or weight vector.
	ErrInvalidDriftOption = errors.New("evaluate: invalid drift option")
)
