"""Which IP addresses an outbound request (a provider result URL, a customer's webhook) may go to: public ones only.

Private, loopback, link-local, multicast, reserved, unspecified, carrier-grade NAT 100.64/10 and cloud metadata
addresses (169.254.169.254, fd00:ec2::254, 169.254.170.2, ...) are refused, also when embedded in IPv6 (IPv4-mapped,
NAT64, 6to4, Teredo). Loopback can be allowed for the local stack.
"""

from __future__ import annotations

import ipaddress

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "169.254.169.253", "fd00:ec2::23")
)


def ip_literal(host: str) -> str | None:
    """The normalised address when `host` is an IP literal (without brackets), else None.

    Also the shorthand IPv4 forms that resolvers and URL parsers accept ("10.1", "0x7f.1", "2130706433"): they are
    addresses, not names, and must meet the same rules.
    """
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if host and all(ch in "0123456789abcdefxABCDEFX." for ch in host):
        return _ipv4_shorthand(host)
    return None


def _ipv4_shorthand(host: str) -> str | None:
    """inet_aton's reading of `host` (1 to 4 parts, each decimal, octal with a leading 0, or hex with 0x; the last
    part fills the remaining bytes), without the socket module: the domain does no I/O."""
    parts = host.split(".")
    if len(parts) > 4:
        return None
    numbers = []
    for part in parts:
        lowered = part.lower()
        if lowered.startswith("0x"):
            digits, base = lowered[2:], 16
        elif len(lowered) > 1 and lowered.startswith("0"):
            digits, base = lowered[1:], 8
        else:
            digits, base = lowered, 10
        if not digits or not all(ch in "0123456789abcdef"[:base] for ch in digits):
            return None
        numbers.append(int(digits, base))
    *leading, last = numbers
    if any(number > 255 for number in leading) or last >= 256 ** (4 - len(leading)):
        return None
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return str(ipaddress.IPv4Address(value))


def address_refusal(address: str, *, allow_loopback: bool = False) -> str | None:
    """Why `address` must not be contacted, or None when it may be."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reason = address_refusal(str(embedded), allow_loopback=allow_loopback)
            return f"{reason} (inside {ip})" if reason else None
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    if ip.is_loopback:
        return None if allow_loopback else f"{ip} is a loopback address"
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.version == 4 and ip in _CGNAT, "carrier-grade NAT"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "non-public"),
    )
    for matches, kind in checks:
        if matches:
            return f"{ip} is a {kind} address"
    return None


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None
