#!/bin/sh
# The default user from the environment, reachable from other containers;
# Debian's rabbitmq-server wrapper drops to the rabbitmq user itself.
set -eu
cat >/etc/rabbitmq/rabbitmq.conf <<CONF
listeners.tcp.default = 5672
loopback_users = none
default_user = ${RABBITMQ_DEFAULT_USER:-guest}
default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}
CONF
exec rabbitmq-server
