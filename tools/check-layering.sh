#!/bin/sh
# The layering rules of ARCHITECTURE.md that includes can show:
#  - src/machine (the ground floor) includes no CPU, VMX, EPT, nested or
#    trace header: devices reach the CPU through struct machine_cpu_ops;
#  - src/nested never includes src/vmx's private headers.
# usage: check-layering.sh SOURCE_DIR
set -u
src=${1:?usage: check-layering.sh SOURCE_DIR}/src
status=0
bad=$(grep -nE '#[[:space:]]*include[[:space:]]*[<"](nvmx/)?(cpu|vmx|vmcs|nested|ept|trace|config|annotate)[^"]*\.h' \
      "$src"/machine/*.c "$src"/machine/*.h)
if [ -n "$bad" ]; then
    echo "src/machine includes a header of a layer above it:"
    echo "$bad"
    status=1
fi
private=$(cd "$src/vmx" && ls *.h 2>/dev/null | tr '\n' '|' | sed 's/|$//')
if [ -n "$private" ]; then
    bad=$(grep -nE "#[[:space:]]*include[[:space:]]*\"(vmx/)?($private)\"" "$src"/nested/*.c "$src"/nested/*.h)
    if [ -n "$bad" ]; then
        echo "src/nested includes a private header of src/vmx:"
        echo "$bad"
        status=1
    fi
fi
[ $status -eq 0 ] && echo "layering: ok"
exit $status
