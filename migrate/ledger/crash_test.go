package ledger

func crashChild(dir string) int { return 1 }

const crashChildEnv = "SHIFT_LEDGER_CRASH_CHILD"
