#include "textflag.h"

// func Mix(x uint64) uint64
TEXT ·Mix(SB), NOSPLIT, $0-16
	MOVQ $3, R15
	MOVQ ·seed(SB), AX
	ADDQ R15, AX
	ADDQ x+0(FP), AX
	MOVQ AX, ret+8(FP)
	RET
