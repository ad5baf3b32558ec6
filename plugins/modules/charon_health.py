#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: charon_health
short_description: Read one charon node's health from its monitoring API (readyz and metrics)
version_added: 0.1.0
description:
  - Reads charon's monitoring API (C(/readyz) and C(/metrics), port 3620 in the node stack) and returns the node's
    health as charon v1.10 reports it. Read only; never changes anything (C(changed) is always V(false)).
  - C(/readyz) is V(ok) (HTTP 200) or one reason (HTTP 500), checked by charon once a slot in this order
    C(beacon node down), C(beacon node not synced), C(beacon node has zero peers), C(beacon node far behind),
    C(quorum peers not connected), C(vc not connected); before the first slot C(ready check uninitialised).
  - From C(/metrics) it takes the failing C(app_health_checks) with their severity, connected peers
    (C(p2p_ping_success)), peers on an unsupported charon version (C(app_peerinfo_version_support)), the beacon
    node state and the validator client connection implied by C(app_monitoring_readyz), the beacon node's peer
    count, active validators (C(core_scheduler_validators_active) of C(cluster_validators)), the cluster threshold
    and the node's identity labels.
  - The API is read over HTTP from the host (O(monitoring_url)), or inside the charon container with O(exec_command)
    (for example C(docker compose exec)), since the node stack does not publish port 3620 on the host.
  - A node whose API does not answer is reported (RV(node.reachable) V(false), RV(node.error)), not a failure;
    the C(dvops.charon.charon_health_report) filter turns every node's result into the cluster verdict.
author:
  - dvops.charon contributors (@dvops)
options:
  monitoring_url:
    description:
      - Base URL of charon's monitoring API as seen from where the request is made (the host, or inside the
        container with O(exec_command)).
    type: str
    default: http://127.0.0.1:3620
  exec_command:
    description:
      - A command prefix that runs a program inside charon's container, for example
        V([docker, compose, --project-directory, /opt/charon, exec, -T, charon]). The module appends a C(wget) call
        (charon's image ships GNU wget; its compose healthcheck uses it). Empty (default) reads over HTTP.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for each request (1 to 3600).
    type: int
    default: 5
attributes:
  check_mode:
    support: full
    description: Read only; runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
notes:
  - Metric names and readyz texts are those of charon v1.10.3 (C(app/monitoringapi.go), C(app/metrics.go),
    C(app/health/)).
'''

EXAMPLES = r'''
- name: Health of a node whose monitoring port is published on the host
  dvops.charon.charon_health:
    monitoring_url: http://127.0.0.1:3620
  register: health

- name: Health read inside the charon container of the compose project
  dvops.charon.charon_health:
    monitoring_url: http://localhost:3620
    exec_command: [docker, compose, --project-directory, /opt/charon, exec, -T, charon]
  register: health

- name: Fail when this node is not ready
  ansible.builtin.assert:
    that: health.node.ready
    fail_msg: "charon is not ready: {{ health.node.readyz.body }}"
'''

RETURN = r'''
node:
  description: The node's health.
  returned: always
  type: dict
  contains:
    reachable:
      description: Whether the monitoring API answered C(/readyz).
      type: bool
    error:
      description: Why the API (or C(/metrics)) could not be read; null when it could.
      type: str
    ready:
      description: C(/readyz) answered HTTP 200 V(ok).
      type: bool
    reason:
      description:
        - Short code of the readyz answer - V(ready), V(uninitialised), V(beacon_node_down), V(beacon_node_syncing),
          V(beacon_node_zero_peers), V(beacon_node_far_behind), V(insufficient_peers), V(vc_not_connected),
          V(unreachable), or C(unknown:<text>).
      type: str
    readyz:
      description: The raw answer, C(status) (HTTP) and C(body) (charon's text).
      type: dict
    readyz_gauge:
      description: C(app_monitoring_readyz) as C(value) and C(reason); null when not reported.
      type: dict
    failing_checks:
      description: Failing C(app_health_checks), critical first, each with C(name) and C(severity).
      type: list
      elements: dict
    peers:
      description: C(connected) and C(total) other operators, C(required) (threshold - 1), C(not_connected) names.
      type: dict
    incompatible_peers:
      description: Peers charon reports on an unsupported charon version.
      type: list
      elements: str
    beacon_node:
      description:
        - C(state) (V(synced), V(syncing), V(far_behind), V(zero_peers), V(down), V(unknown)) and C(peers)
          (C(app_beacon_node_peers)).
      type: dict
    validator_client:
      description:
        - C(connected) (true, false, or null when charon did not get as far as checking it) and C(user_agents)
          seen on the validator API.
      type: dict
    validators:
      description: C(active) (C(core_scheduler_validators_active)) and C(total) (C(cluster_validators)).
      type: dict
    builder_api:
      description:
        - Peer name to whether that peer (this node included) runs with C(--builder-api), as charon's peerinfo
          reports it (C(app_peerinfo_builder_api_enabled)). Every operator must agree.
      type: dict
    threshold:
      description: The cluster threshold (C(cluster_threshold)).
      type: int
    operators:
      description: Operators in the cluster (C(cluster_operators)).
      type: int
    peer_name:
      description: charon's peer name for this node.
      type: str
    cluster_name:
      description: The cluster name charon labels its metrics with.
      type: str
    cluster_hash:
      description: The short lock hash charon labels its metrics with.
      type: str
    charon_version:
      description: charon's version.
      type: str
  sample:
    reachable: true
    ready: false
    reason: insufficient_peers
    readyz: {status: 500, body: quorum peers not connected}
    failing_checks: [{name: insufficient_connected_peers, severity: critical}]
    peers: {connected: 1, total: 3, required: 2, not_connected: [odd-oil, witty-city]}
    beacon_node: {state: synced, peers: 0}
    validator_client: {connected: null, user_agents: [go-eth2-client/0.28.0]}
    validators: {active: 2, total: 2}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dvops.charon.plugins.module_utils import _health


def main():
    module = AnsibleModule(
        argument_spec=dict(
            monitoring_url=dict(type="str", default="http://127.0.0.1:3620"),
            exec_command=dict(type="list", elements="str", default=[]),
            timeout=dict(type="int", default=5),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not 1 <= params["timeout"] <= 3600:
        module.fail_json(msg="timeout: must be 1 to 3600 seconds, not %d" % params["timeout"])
    try:
        fetcher = _health.Fetcher(params["monitoring_url"], timeout=params["timeout"],
                                  exec_command=params["exec_command"],
                                  run=lambda cmd: module.run_command(cmd, check_rc=False))
    except _health.HealthError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, node=_health.probe(fetcher))


if __name__ == "__main__":
    main()
