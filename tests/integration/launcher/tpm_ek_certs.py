import sys
# The EK certificates swtpm_setup wrote into the TPM's NV memory, as hex DER: each
# X.509 certificate in the state file that carries the TCG EK certificate purpose.
data = open(sys.argv[1], 'rb').read()
EK_PURPOSE = bytes.fromhex('06056781050801')
certs = []
i = data.find(b'\x30\x82')
while i >= 0:
    n = int.from_bytes(data[i + 2:i + 4], 'big')
    der = data[i:i + 4 + n]
    if len(der) == 4 + n and der[4:6] == b'\x30\x82' and EK_PURPOSE in der:
        certs.append(der.hex())
        i = data.find(b'\x30\x82', i + 4 + n)
    else:
        i = data.find(b'\x30\x82', i + 1)
print('\n'.join(certs))
