"""Media made in code with exact ground truth, shared by the test modules and bench/."""
