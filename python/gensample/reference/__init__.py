"""Plain NumPy twins of every C++ kernel: the test oracle, written for clarity, not speed."""
