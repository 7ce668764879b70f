/*
 * ProcessPrng for wine 8.0, which lacks bcryptprimitives.dll (wine 9 has it). Rust's std
 * draws its random numbers from ProcessPrng on Windows 10 and later, where the DLL is part of
 * the system, so a Windows binary does not start under wine 8.0 without it. This stand-in,
 * built by cross/smoke-windows.sh with mingw-w64 into the throwaway wine prefix only, fills
 * the buffer from RtlGenRandom (advapi32's SystemFunction036), the system's own generator.
 * It is never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG n = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        length -= n;
    }
    return TRUE;
}
