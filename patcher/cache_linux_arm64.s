#include "textflag.h"

// func syncCode(addr, n uintptr)
//
// Line sizes come from CTR_EL0 (DminLine, bits 19:16; IminLine, bits 3:0;
// log2 of the number of 4-byte words), which Linux lets user space read.
// The Go assembler knows DC CVAU but not IC IVAU: that one is a WORD.
TEXT ·syncCode(SB), NOSPLIT|NOFRAME, $0-16
	MOVD	addr+0(FP), R0
	MOVD	n+8(FP), R1
	ADD	R0, R1, R1		// end
	MRS	CTR_EL0, R2
	MOVD	$4, R4

	UBFX	$16, R2, $4, R3
	LSL	R3, R4, R3		// data cache line size
	SUB	$1, R3, R5
	BIC	R5, R0, R6
dloop:
	DC	CVAU, R6
	ADD	R3, R6, R6
	CMP	R1, R6
	BLO	dloop
	DSB	$11			// DSB ISH

	AND	$15, R2, R3
	LSL	R3, R4, R3		// instruction cache line size
	SUB	$1, R3, R5
	BIC	R5, R0, R6
iloop:
	WORD	$0xd50b7526		// IC IVAU, X6
	ADD	R3, R6, R6
	CMP	R1, R6
	BLO	iloop
	DSB	$11			// DSB ISH
	ISB	$15			// ISB SY
	RET
