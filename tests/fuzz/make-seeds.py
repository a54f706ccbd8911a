#!/usr/bin/env python3
# make-seeds.py [DIR]: write the hand-made seed inputs of fuzz_ioctl into DIR
# (default: corpus/ next to this script).  The encoding is fuzz_ioctl.c's:
# an opcode byte (enum op), then its operands, little endian.  The ioctl
# indices are read from known_cmds[] in fuzz_ioctl.c so the two cannot drift.
import os, re, struct, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
src = open(os.path.join(here, 'fuzz_ioctl.c')).read()
ops = re.search(r'enum op \{(.*?)\};', src, re.S).group(1)
OP = {n: i for i, n in enumerate(re.findall(r'^\s*(OP_\w+)', ops, re.M))}
cmds = re.search(r'known_cmds\[\] = \{(.*?)\};', src, re.S).group(1)
CMD = {n: i for i, n in enumerate(re.findall(r'(\w+),', re.sub(r'/\*.*?\*/', '', cmds, flags=re.S)))}
FD_NONE, FD_GUEST, FD_RUN = 0, 1, 2

def ioc_sizes():
    # _IOC_SIZE of every known cmd, from the same headers the harness uses
    prog = '#include <stdio.h>\n#include <linux/kvm.h>\n#include "cused/shim_abi.h"\n' \
           'int main(void) {\n' + ''.join(
               f'printf("%u\\n", (unsigned)_IOC_SIZE({c}));\n' for c in CMD) + 'return 0; }\n'
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, 'p.c'), 'w').write(prog)
        subprocess.check_call(['cc', '-I', os.path.join(here, '../../include'), '-o',
                               os.path.join(d, 'p'), os.path.join(d, 'p.c')])
        out = subprocess.check_output([os.path.join(d, 'p')], text=True).split()
    return dict(zip(CMD, map(int, out)))
SIZE = ioc_sizes()

def u8(v): return struct.pack('<B', v)
def u16(v): return struct.pack('<H', v)
def u32(v): return struct.pack('<I', v)
def u64(v): return struct.pack('<Q', v)

def op(name, *parts): return u8(OP[name]) + b''.join(parts)
def ioctl(h, cmd, fixed=b'', tail=b'', mode=0, extra=b''):
    # mode 0: arg = CMEM_BASE; the fixed part (padded to its size) then the tail
    fixed = fixed.ljust(SIZE[cmd], b'\0')[:SIZE[cmd]]
    return op('OP_IOCTL', u8(h), u8(CMD[cmd]), u8(mode), fixed, extra, u16(len(tail)), tail)

# handles: 0 system, 1 VM, 2 vCPU
vm_vcpu = (op('OP_OPEN') + op('OP_NEW_VM', u8(0), u8(0)) +
           op('OP_NEW_VCPU', u8(1), u16(0), u8(FD_NONE)))
ram = op('OP_SET_MEMORY', u8(1), u8(0x10), u8(0), u8(0x10), u8(0), u8(FD_GUEST), u8(0))
exit_hlt = u8(0)
exit_out = u8(1) + u16(0xe9) + u8(0)
exit_rdmsr = u8(7) + u8(4) + u64(0)
exit_wrmsr = u8(8) + u8(4) + u64(0x1234)
exit_mmio = u8(2) + u8(0x20) + u8(0) + u8(0x83) + u64(0x55)
exit_npf = u8(11) + u8(0x20) + u8(0) + u8(2 << 1) + b'\x8a\x07'
exit_cpuid = u8(12) + u8(1) + u8(0)

seeds = {
    'system': op('OP_OPEN') + b''.join(
        ioctl(0, c, tail=b'\0' * 64) for c in
        ['KVM_GET_API_VERSION', 'KVM_GET_VCPU_MMAP_SIZE', 'KVM_GET_MSR_INDEX_LIST',
         'KVM_GET_MSR_FEATURE_INDEX_LIST', 'KVM_GET_SUPPORTED_CPUID', 'KVM_CREATE_VM',
         'CUSED_IOC_VERSION']) +
        ioctl(0, 'KVM_GET_MSRS', u32(1) + u32(0), u32(0x10a) + u32(0) + u64(0)),
    'run': vm_vcpu + ram +
        op('OP_RUN', u8(2)) + exit_out +
        op('OP_RUN', u8(2)) + exit_rdmsr + exit_wrmsr + exit_cpuid + exit_mmio +
        op('OP_RUN', u8(2)) + exit_npf +
        op('OP_RUN', u8(2)) + exit_hlt,
    'regs': vm_vcpu + ram +
        ioctl(2, 'KVM_GET_REGS') + ioctl(2, 'KVM_SET_REGS', b'') +
        ioctl(2, 'KVM_GET_SREGS') + ioctl(2, 'KVM_SET_SREGS', b'') +
        ioctl(2, 'KVM_TRANSLATE', u64(0x1000) + b'\0' * 16) +
        ioctl(2, 'KVM_GET_FPU') + ioctl(2, 'KVM_GET_MP_STATE') +
        ioctl(2, 'KVM_INTERRUPT', u32(0x30)) + ioctl(2, 'KVM_SET_GUEST_DEBUG', b''),
    'msrs': vm_vcpu +
        ioctl(2, 'KVM_SET_MSRS', u32(2) + u32(0), u32(0x175) + u32(0) + u64(0xabc) +
              u32(0x10) + u32(0) + u64(0x100)) +
        ioctl(2, 'KVM_GET_MSRS', u32(2) + u32(0), u32(0x175) + u32(0) + u64(0) +
              u32(0x10) + u32(0) + u64(0)),
    'cpuid': vm_vcpu +
        ioctl(0, 'KVM_GET_SUPPORTED_CPUID', u32(4) + u32(0), b'\0' * 160) +
        ioctl(2, 'KVM_SET_CPUID2', u32(2) + u32(0), (u32(0) + u32(0) + u32(0) + u32(1) +
              b'\0' * 24) + (u32(1) + u32(0) + u32(0) + u32(0x663) + b'\0' * 24)) +
        ioctl(2, 'KVM_GET_CPUID2', u32(2) + u32(0), b'\0' * 80) +
        op('OP_RUN', u8(2)) + exit_cpuid + exit_hlt,
    'dirty': vm_vcpu +
        op('OP_SET_MEMORY', u8(1), u8(0x10), u8(0), u8(0x10), u8(0), u8(FD_GUEST), u8(0)) +
        op('OP_USER_MEMORY', u8(1), u8(0x01), u8(0x20), u8(0x10), u8(0x10), u8(FD_NONE), u8(0)) +
        ioctl(1, 'KVM_GET_DIRTY_LOG', u32(0) + u32(0) + u64(0), mode=8, extra=u16(0x800)) +
        op('OP_SET_MEMORY', u8(1), u8(0x00), u8(0), u8(0), u8(0), u8(FD_NONE), u8(0)),
    'shim': op('OP_OPEN') + op('OP_CREATE', u8(0), u64(0)) + op('OP_OPEN') +
        op('OP_BIND', u8(1), u8(0), u8(0), u8(FD_NONE)) +
        op('OP_NEW_VCPU', u8(1), u16(3), u8(FD_RUN)) +
        op('OP_KICK', u8(2), u32(0)) + op('OP_BIND', u8(0), u8(0x80), u64(1234), u8(1), u8(0)) +
        op('OP_CLOSE', u8(2)) + op('OP_RUN', u8(2)),
    'vm': vm_vcpu + b''.join(
        ioctl(1, c) for c in
        ['KVM_CREATE_IRQCHIP', 'KVM_IRQ_LINE', 'KVM_IRQ_LINE_STATUS', 'KVM_ENABLE_CAP',
         'KVM_SET_TSS_ADDR', 'KVM_CREATE_PIT2', 'KVM_GET_CLOCK', 'KVM_CHECK_EXTENSION']),
}

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, 'corpus')
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, 'seed-' + name), 'wb') as f:
        f.write(data)
print(f'wrote {len(seeds)} seeds to {out}')
