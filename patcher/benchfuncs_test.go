// Code generated for the pause benchmarks (see bench_test.go). DO NOT EDIT.

package patcher

// 100 pairs of small non-leaf functions: each has a stack-check prologue,
// so it can be redirected; used to measure the pause for many redirects.

//go:noinline
func benchOld0(x int) int { return sink(x + 0) }

//go:noinline
func benchNew0(x int) int { return sink(x - 0) }

//go:noinline
func benchOld1(x int) int { return sink(x + 1) }

//go:noinline
func benchNew1(x int) int { return sink(x - 1) }

//go:noinline
func benchOld2(x int) int { return sink(x + 2) }

//go:noinline
func benchNew2(x int) int { return sink(x - 2) }

//go:noinline
func benchOld3(x int) int { return sink(x + 3) }

//go:noinline
func benchNew3(x int) int { return sink(x - 3) }

//go:noinline
func benchOld4(x int) int { return sink(x + 4) }

//go:noinline
func benchNew4(x int) int { return sink(x - 4) }

//go:noinline
func benchOld5(x int) int { return sink(x + 5) }

//go:noinline
func benchNew5(x int) int { return sink(x - 5) }

//go:noinline
func benchOld6(x int) int { return sink(x + 6) }

//go:noinline
func benchNew6(x int) int { return sink(x - 6) }

//go:noinline
func benchOld7(x int) int { return sink(x + 7) }

//go:noinline
func benchNew7(x int) int { return sink(x - 7) }

//go:noinline
func benchOld8(x int) int { return sink(x + 8) }

//go:noinline
func benchNew8(x int) int { return sink(x - 8) }

//go:noinline
func benchOld9(x int) int { return sink(x + 9) }

//go:noinline
func benchNew9(x int) int { return sink(x - 9) }

//go:noinline
func benchOld10(x int) int { return sink(x + 10) }

//go:noinline
func benchNew10(x int) int { return sink(x - 10) }

//go:noinline
func benchOld11(x int) int { return sink(x + 11) }

//go:noinline
func benchNew11(x int) int { return sink(x - 11) }

//go:noinline
func benchOld12(x int) int { return sink(x + 12) }

//go:noinline
func benchNew12(x int) int { return sink(x - 12) }

//go:noinline
func benchOld13(x int) int { return sink(x + 13) }

//go:noinline
func benchNew13(x int) int { return sink(x - 13) }

//go:noinline
func benchOld14(x int) int { return sink(x + 14) }

//go:noinline
func benchNew14(x int) int { return sink(x - 14) }

//go:noinline
func benchOld15(x int) int { return sink(x + 15) }

//go:noinline
func benchNew15(x int) int { return sink(x - 15) }

//go:noinline
func benchOld16(x int) int { return sink(x + 16) }

//go:noinline
func benchNew16(x int) int { return sink(x - 16) }

//go:noinline
func benchOld17(x int) int { return sink(x + 17) }

//go:noinline
func benchNew17(x int) int { return sink(x - 17) }

//go:noinline
func benchOld18(x int) int { return sink(x + 18) }

//go:noinline
func benchNew18(x int) int { return sink(x - 18) }

//go:noinline
func benchOld19(x int) int { return sink(x + 19) }

//go:noinline
func benchNew19(x int) int { return sink(x - 19) }

//go:noinline
func benchOld20(x int) int { return sink(x + 20) }

//go:noinline
func benchNew20(x int) int { return sink(x - 20) }

//go:noinline
func benchOld21(x int) int { return sink(x + 21) }

//go:noinline
func benchNew21(x int) int { return sink(x - 21) }

//go:noinline
func benchOld22(x int) int { return sink(x + 22) }

//go:noinline
func benchNew22(x int) int { return sink(x - 22) }

//go:noinline
func benchOld23(x int) int { return sink(x + 23) }

//go:noinline
func benchNew23(x int) int { return sink(x - 23) }

//go:noinline
func benchOld24(x int) int { return sink(x + 24) }

//go:noinline
func benchNew24(x int) int { return sink(x - 24) }

//go:noinline
func benchOld25(x int) int { return sink(x + 25) }

//go:noinline
func benchNew25(x int) int { return sink(x - 25) }

//go:noinline
func benchOld26(x int) int { return sink(x + 26) }

//go:noinline
func benchNew26(x int) int { return sink(x - 26) }

//go:noinline
func benchOld27(x int) int { return sink(x + 27) }

//go:noinline
func benchNew27(x int) int { return sink(x - 27) }

//go:noinline
func benchOld28(x int) int { return sink(x + 28) }

//go:noinline
func benchNew28(x int) int { return sink(x - 28) }

//go:noinline
func benchOld29(x int) int { return sink(x + 29) }

//go:noinline
func benchNew29(x int) int { return sink(x - 29) }

//go:noinline
func benchOld30(x int) int { return sink(x + 30) }

//go:noinline
func benchNew30(x int) int { return sink(x - 30) }

//go:noinline
func benchOld31(x int) int { return sink(x + 31) }

//go:noinline
func benchNew31(x int) int { return sink(x - 31) }

//go:noinline
func benchOld32(x int) int { return sink(x + 32) }

//go:noinline
func benchNew32(x int) int { return sink(x - 32) }

//go:noinline
func benchOld33(x int) int { return sink(x + 33) }

//go:noinline
func benchNew33(x int) int { return sink(x - 33) }

//go:noinline
func benchOld34(x int) int { return sink(x + 34) }

//go:noinline
func benchNew34(x int) int { return sink(x - 34) }

//go:noinline
func benchOld35(x int) int { return sink(x + 35) }

//go:noinline
func benchNew35(x int) int { return sink(x - 35) }

//go:noinline
func benchOld36(x int) int { return sink(x + 36) }

//go:noinline
func benchNew36(x int) int { return sink(x - 36) }

//go:noinline
func benchOld37(x int) int { return sink(x + 37) }

//go:noinline
func benchNew37(x int) int { return sink(x - 37) }

//go:noinline
func benchOld38(x int) int { return sink(x + 38) }

//go:noinline
func benchNew38(x int) int { return sink(x - 38) }

//go:noinline
func benchOld39(x int) int { return sink(x + 39) }

//go:noinline
func benchNew39(x int) int { return sink(x - 39) }

//go:noinline
func benchOld40(x int) int { return sink(x + 40) }

//go:noinline
func benchNew40(x int) int { return sink(x - 40) }

//go:noinline
func benchOld41(x int) int { return sink(x + 41) }

//go:noinline
func benchNew41(x int) int { return sink(x - 41) }

//go:noinline
func benchOld42(x int) int { return sink(x + 42) }

//go:noinline
func benchNew42(x int) int { return sink(x - 42) }

//go:noinline
func benchOld43(x int) int { return sink(x + 43) }

//go:noinline
func benchNew43(x int) int { return sink(x - 43) }

//go:noinline
func benchOld44(x int) int { return sink(x + 44) }

//go:noinline
func benchNew44(x int) int { return sink(x - 44) }

//go:noinline
func benchOld45(x int) int { return sink(x + 45) }

//go:noinline
func benchNew45(x int) int { return sink(x - 45) }

//go:noinline
func benchOld46(x int) int { return sink(x + 46) }

//go:noinline
func benchNew46(x int) int { return sink(x - 46) }

//go:noinline
func benchOld47(x int) int { return sink(x + 47) }

//go:noinline
func benchNew47(x int) int { return sink(x - 47) }

//go:noinline
func benchOld48(x int) int { return sink(x + 48) }

//go:noinline
func benchNew48(x int) int { return sink(x - 48) }

//go:noinline
func benchOld49(x int) int { return sink(x + 49) }

//go:noinline
func benchNew49(x int) int { return sink(x - 49) }

//go:noinline
func benchOld50(x int) int { return sink(x + 50) }

//go:noinline
func benchNew50(x int) int { return sink(x - 50) }

//go:noinline
func benchOld51(x int) int { return sink(x + 51) }

//go:noinline
func benchNew51(x int) int { return sink(x - 51) }

//go:noinline
func benchOld52(x int) int { return sink(x + 52) }

//go:noinline
func benchNew52(x int) int { return sink(x - 52) }

//go:noinline
func benchOld53(x int) int { return sink(x + 53) }

//go:noinline
func benchNew53(x int) int { return sink(x - 53) }

//go:noinline
func benchOld54(x int) int { return sink(x + 54) }

//go:noinline
func benchNew54(x int) int { return sink(x - 54) }

//go:noinline
func benchOld55(x int) int { return sink(x + 55) }

//go:noinline
func benchNew55(x int) int { return sink(x - 55) }

//go:noinline
func benchOld56(x int) int { return sink(x + 56) }

//go:noinline
func benchNew56(x int) int { return sink(x - 56) }

//go:noinline
func benchOld57(x int) int { return sink(x + 57) }

//go:noinline
func benchNew57(x int) int { return sink(x - 57) }

//go:noinline
func benchOld58(x int) int { return sink(x + 58) }

//go:noinline
func benchNew58(x int) int { return sink(x - 58) }

//go:noinline
func benchOld59(x int) int { return sink(x + 59) }

//go:noinline
func benchNew59(x int) int { return sink(x - 59) }

//go:noinline
func benchOld60(x int) int { return sink(x + 60) }

//go:noinline
func benchNew60(x int) int { return sink(x - 60) }

//go:noinline
func benchOld61(x int) int { return sink(x + 61) }

//go:noinline
func benchNew61(x int) int { return sink(x - 61) }

//go:noinline
func benchOld62(x int) int { return sink(x + 62) }

//go:noinline
func benchNew62(x int) int { return sink(x - 62) }

//go:noinline
func benchOld63(x int) int { return sink(x + 63) }

//go:noinline
func benchNew63(x int) int { return sink(x - 63) }

//go:noinline
func benchOld64(x int) int { return sink(x + 64) }

//go:noinline
func benchNew64(x int) int { return sink(x - 64) }

//go:noinline
func benchOld65(x int) int { return sink(x + 65) }

//go:noinline
func benchNew65(x int) int { return sink(x - 65) }

//go:noinline
func benchOld66(x int) int { return sink(x + 66) }

//go:noinline
func benchNew66(x int) int { return sink(x - 66) }

//go:noinline
func benchOld67(x int) int { return sink(x + 67) }

//go:noinline
func benchNew67(x int) int { return sink(x - 67) }

//go:noinline
func benchOld68(x int) int { return sink(x + 68) }

//go:noinline
func benchNew68(x int) int { return sink(x - 68) }

//go:noinline
func benchOld69(x int) int { return sink(x + 69) }

//go:noinline
func benchNew69(x int) int { return sink(x - 69) }

//go:noinline
func benchOld70(x int) int { return sink(x + 70) }

//go:noinline
func benchNew70(x int) int { return sink(x - 70) }

//go:noinline
func benchOld71(x int) int { return sink(x + 71) }

//go:noinline
func benchNew71(x int) int { return sink(x - 71) }

//go:noinline
func benchOld72(x int) int { return sink(x + 72) }

//go:noinline
func benchNew72(x int) int { return sink(x - 72) }

//go:noinline
func benchOld73(x int) int { return sink(x + 73) }

//go:noinline
func benchNew73(x int) int { return sink(x - 73) }

//go:noinline
func benchOld74(x int) int { return sink(x + 74) }

//go:noinline
func benchNew74(x int) int { return sink(x - 74) }

//go:noinline
func benchOld75(x int) int { return sink(x + 75) }

//go:noinline
func benchNew75(x int) int { return sink(x - 75) }

//go:noinline
func benchOld76(x int) int { return sink(x + 76) }

//go:noinline
func benchNew76(x int) int { return sink(x - 76) }

//go:noinline
func benchOld77(x int) int { return sink(x + 77) }

//go:noinline
func benchNew77(x int) int { return sink(x - 77) }

//go:noinline
func benchOld78(x int) int { return sink(x + 78) }

//go:noinline
func benchNew78(x int) int { return sink(x - 78) }

//go:noinline
func benchOld79(x int) int { return sink(x + 79) }

//go:noinline
func benchNew79(x int) int { return sink(x - 79) }

//go:noinline
func benchOld80(x int) int { return sink(x + 80) }

//go:noinline
func benchNew80(x int) int { return sink(x - 80) }

//go:noinline
func benchOld81(x int) int { return sink(x + 81) }

//go:noinline
func benchNew81(x int) int { return sink(x - 81) }

//go:noinline
func benchOld82(x int) int { return sink(x + 82) }

//go:noinline
func benchNew82(x int) int { return sink(x - 82) }

//go:noinline
func benchOld83(x int) int { return sink(x + 83) }

//go:noinline
func benchNew83(x int) int { return sink(x - 83) }

//go:noinline
func benchOld84(x int) int { return sink(x + 84) }

//go:noinline
func benchNew84(x int) int { return sink(x - 84) }

//go:noinline
func benchOld85(x int) int { return sink(x + 85) }

//go:noinline
func benchNew85(x int) int { return sink(x - 85) }

//go:noinline
func benchOld86(x int) int { return sink(x + 86) }

//go:noinline
func benchNew86(x int) int { return sink(x - 86) }

//go:noinline
func benchOld87(x int) int { return sink(x + 87) }

//go:noinline
func benchNew87(x int) int { return sink(x - 87) }

//go:noinline
func benchOld88(x int) int { return sink(x + 88) }

//go:noinline
func benchNew88(x int) int { return sink(x - 88) }

//go:noinline
func benchOld89(x int) int { return sink(x + 89) }

//go:noinline
func benchNew89(x int) int { return sink(x - 89) }

//go:noinline
func benchOld90(x int) int { return sink(x + 90) }

//go:noinline
func benchNew90(x int) int { return sink(x - 90) }

//go:noinline
func benchOld91(x int) int { return sink(x + 91) }

//go:noinline
func benchNew91(x int) int { return sink(x - 91) }

//go:noinline
func benchOld92(x int) int { return sink(x + 92) }

//go:noinline
func benchNew92(x int) int { return sink(x - 92) }

//go:noinline
func benchOld93(x int) int { return sink(x + 93) }

//go:noinline
func benchNew93(x int) int { return sink(x - 93) }

//go:noinline
func benchOld94(x int) int { return sink(x + 94) }

//go:noinline
func benchNew94(x int) int { return sink(x - 94) }

//go:noinline
func benchOld95(x int) int { return sink(x + 95) }

//go:noinline
func benchNew95(x int) int { return sink(x - 95) }

//go:noinline
func benchOld96(x int) int { return sink(x + 96) }

//go:noinline
func benchNew96(x int) int { return sink(x - 96) }

//go:noinline
func benchOld97(x int) int { return sink(x + 97) }

//go:noinline
func benchNew97(x int) int { return sink(x - 97) }

//go:noinline
func benchOld98(x int) int { return sink(x + 98) }

//go:noinline
func benchNew98(x int) int { return sink(x - 98) }

//go:noinline
func benchOld99(x int) int { return sink(x + 99) }

//go:noinline
func benchNew99(x int) int { return sink(x - 99) }

var benchOlds = []func(int) int{benchOld0, benchOld1, benchOld2, benchOld3, benchOld4, benchOld5, benchOld6, benchOld7, benchOld8, benchOld9, benchOld10, benchOld11, benchOld12, benchOld13, benchOld14, benchOld15, benchOld16, benchOld17, benchOld18, benchOld19, benchOld20, benchOld21, benchOld22, benchOld23, benchOld24, benchOld25, benchOld26, benchOld27, benchOld28, benchOld29, benchOld30, benchOld31, benchOld32, benchOld33, benchOld34, benchOld35, benchOld36, benchOld37, benchOld38, benchOld39, benchOld40, benchOld41, benchOld42, benchOld43, benchOld44, benchOld45, benchOld46, benchOld47, benchOld48, benchOld49, benchOld50, benchOld51, benchOld52, benchOld53, benchOld54, benchOld55, benchOld56, benchOld57, benchOld58, benchOld59, benchOld60, benchOld61, benchOld62, benchOld63, benchOld64, benchOld65, benchOld66, benchOld67, benchOld68, benchOld69, benchOld70, benchOld71, benchOld72, benchOld73, benchOld74, benchOld75, benchOld76, benchOld77, benchOld78, benchOld79, benchOld80, benchOld81, benchOld82, benchOld83, benchOld84, benchOld85, benchOld86, benchOld87, benchOld88, benchOld89, benchOld90, benchOld91, benchOld92, benchOld93, benchOld94, benchOld95, benchOld96, benchOld97, benchOld98, benchOld99}

var benchNews = []func(int) int{benchNew0, benchNew1, benchNew2, benchNew3, benchNew4, benchNew5, benchNew6, benchNew7, benchNew8, benchNew9, benchNew10, benchNew11, benchNew12, benchNew13, benchNew14, benchNew15, benchNew16, benchNew17, benchNew18, benchNew19, benchNew20, benchNew21, benchNew22, benchNew23, benchNew24, benchNew25, benchNew26, benchNew27, benchNew28, benchNew29, benchNew30, benchNew31, benchNew32, benchNew33, benchNew34, benchNew35, benchNew36, benchNew37, benchNew38, benchNew39, benchNew40, benchNew41, benchNew42, benchNew43, benchNew44, benchNew45, benchNew46, benchNew47, benchNew48, benchNew49, benchNew50, benchNew51, benchNew52, benchNew53, benchNew54, benchNew55, benchNew56, benchNew57, benchNew58, benchNew59, benchNew60, benchNew61, benchNew62, benchNew63, benchNew64, benchNew65, benchNew66, benchNew67, benchNew68, benchNew69, benchNew70, benchNew71, benchNew72, benchNew73, benchNew74, benchNew75, benchNew76, benchNew77, benchNew78, benchNew79, benchNew80, benchNew81, benchNew82, benchNew83, benchNew84, benchNew85, benchNew86, benchNew87, benchNew88, benchNew89, benchNew90, benchNew91, benchNew92, benchNew93, benchNew94, benchNew95, benchNew96, benchNew97, benchNew98, benchNew99}
