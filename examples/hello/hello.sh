#!/bin/sh
# What a run of the hello job prints: the greeting, then the environment it runs with.
echo "$GREETING!"
echo "running as $(id -un) in container $(hostname), with this environment:"
env | sort
