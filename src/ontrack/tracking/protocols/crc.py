"""Table-driven reflected CRC-16, the family both binary tracker protocols use.

GT06 uses CRC-16/X-25 ("CRC-ITU" in its manual) and Teltonika CRC-16/ARC ("CRC-16/IBM");
they differ only in polynomial, initial value and final XOR, so one implementation serves
both and is checked against the catalogue's check values in the tests.
"""

from __future__ import annotations

from collections.abc import Callable


def reflected_crc16(poly_reflected: int, *, init: int, xorout: int) -> Callable[[bytes], int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly_reflected if crc & 1 else crc >> 1
        table.append(crc)

    def crc16(data: bytes) -> int:
        crc = init
        for byte in data:
            crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
        return crc ^ xorout

    return crc16


crc16_x25 = reflected_crc16(0x8408, init=0xFFFF, xorout=0xFFFF)
crc16_arc = reflected_crc16(0xA001, init=0, xorout=0)
