# -*- coding: utf-8 -*-
"""Fleet logic (_fleet): the slot layout, the cluster group of an instance, and collisions on one machine."""

from __future__ import annotations

import itertools

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.dvops.charon.plugins.filter.fleet import FilterModule
from ansible_collections.dvops.charon.plugins.module_utils import _fleet

F = FilterModule().filters()


def test_slot_zero_is_the_single_node_layout():
    # The values every role used before fleets existed: slot 0 must not move a single-node host.
    assert {n: _fleet.slot_value(0, n) for n in _fleet.SLOT_LAYOUT} == {
        "network_charon_port": 3610, "charon_validator_api_port": 3600, "monitoring_grafana_port": 3000,
        "geth_p2p_port": 30303, "geth_rpc_port": 8545, "geth_engine_port": 8551,
        "lighthouse_p2p_port": 9000, "lighthouse_http_port": 5052}
    assert _fleet.slot_value(0, "charon_base_dir") == "/opt/charon"
    assert _fleet.slot_value("0", "docker_project_name") == "charon-distributed-validator-node"


def test_slots_derive_distinct_values():
    assert _fleet.slot_value(3, "network_charon_port") == 3613
    assert _fleet.slot_value("2", "geth_rpc_port") == 8565
    assert _fleet.slot_value(1, "charon_base_dir") == "/opt/charon-1"
    assert _fleet.slot_value(12, "docker_project_name") == "charon-distributed-validator-node-12"


def test_slots_0_to_9_share_no_port():
    ports = [_fleet.slot_value(s, n) for s in range(10) for n in _fleet.SLOT_LAYOUT]
    assert len(ports) == len(set(ports))


@pytest.mark.parametrize("bad", [-1, "x", None, "1.5"])
def test_bad_slot_names_the_host_and_the_field(bad):
    with pytest.raises(_fleet.FleetError, match=r"^a-node1: dvops_slot must be a whole number >= 0"):
        _fleet.slot_value(bad, "geth_p2p_port", "a-node1")
    with pytest.raises(AnsibleFilterError, match="a-node1: dvops_slot"):
        F["slot_value"](bad, "geth_p2p_port", "a-node1")


def test_unknown_name_is_refused():
    with pytest.raises(_fleet.FleetError, match="unknown name 'nope'"):
        _fleet.slot_value(0, "nope")


GROUPS = {"all": ["a-n1", "a-n2", "b-n1", "solo"], "ungrouped": ["solo"],
          "dvops_clusters": ["a-n1", "a-n2", "b-n1"], "cluster_a": ["a-n1", "a-n2"], "cluster_b": ["b-n1"],
          "machines_eu": ["a-n1", "b-n1"], "mixed": ["a-n1", "solo"]}


def test_cluster_group_of_a_fleet_instance():
    assert _fleet.cluster_group("a-n2", ["dvops_clusters", "cluster_a"], GROUPS) == "cluster_a"
    # a group that also holds hosts outside the fleet is no cluster group
    assert _fleet.cluster_group("a-n1", ["dvops_clusters", "cluster_a", "mixed"], GROUPS) == "cluster_a"


def test_single_group_inventory_keeps_working():
    groups = {"all": ["node1", "node2"], "dvops_cluster": ["node1", "node2"], "ungrouped": []}
    assert _fleet.cluster_group("node1", ["dvops_cluster"], groups) == "dvops_cluster"


def test_two_cluster_groups_are_refused_naming_host_and_groups():
    with pytest.raises(_fleet.FleetError, match=r"a-n1 is in 2 cluster groups \(cluster_a, machines_eu\)"):
        _fleet.cluster_group("a-n1", ["dvops_clusters", "cluster_a", "machines_eu"], GROUPS)
    # listing the cluster groups resolves it
    assert _fleet.cluster_group("a-n1", ["dvops_clusters", "cluster_a", "machines_eu"], GROUPS,
                                ["cluster_a", "cluster_b"]) == "cluster_a"
    groups = dict(GROUPS, dvops_cluster=["b-n1"])
    with pytest.raises(AnsibleFilterError, match=r"b-n1 is in 2 cluster groups \(cluster_b, dvops_cluster\)"):
        F["cluster_group"]("b-n1", ["dvops_clusters", "cluster_b", "dvops_cluster"], groups)


def test_no_cluster_group_is_refused_naming_the_host():
    groups = {"dvops_clusters": ["x"], "all": ["x"]}
    with pytest.raises(_fleet.FleetError, match="x is in no cluster group"):
        _fleet.cluster_group("x", ["dvops_clusters"], groups)
    with pytest.raises(_fleet.FleetError, match="x is in no cluster group"):
        _fleet.cluster_group("x", ["dvops_clusters"], groups, ["cluster_a"])
    with pytest.raises(_fleet.FleetError, match="dvops_cluster_groups must be a list"):
        _fleet.cluster_group("x", [], groups, "cluster_a")


def inst(host, machine, slot, **over):
    values = {n: _fleet.slot_value(slot, n) for n in _fleet.SLOT_LAYOUT}
    values["charon_base_dir"] = _fleet.slot_value(slot, "charon_base_dir")
    values["charon_data_dir"] = values["charon_base_dir"] + "/.charon"
    values["docker_project_name"] = _fleet.slot_value(slot, "docker_project_name")
    values.update(over)
    return {"host": host, "machine": machine, "values": values}


def test_derived_slots_never_collide():
    fleet = [inst("a-n%d" % m, "m%d" % m, 0) for m in range(1, 5)] + [inst("b-n%d" % m, "m%d" % m, 1) for m in range(1, 4)]
    assert _fleet.collisions(fleet) == []
    # the same slot on different machines is fine
    assert _fleet.collisions([inst("a", "m1", 0), inst("b", "m2", 0)]) == []


def test_same_slot_on_one_machine_names_both_instances_and_each_shared_value():
    found = _fleet.collisions([inst("b-n1", "m1", 0), inst("a-n1", "m1", 0)])
    assert "a-n1 and b-n1 on machine m1 share the port 3610 (network_charon_port)" in found
    assert "a-n1 and b-n1 on machine m1 share the directory /opt/charon (charon_base_dir)" in found
    assert "a-n1 and b-n1 on machine m1 share the docker_project_name charon-distributed-validator-node " \
           "(docker_project_name)" in found
    assert len(found) == len(_fleet.SLOT_LAYOUT) + 3


def test_an_override_clashing_with_another_port_name_is_found():
    found = _fleet.collisions([inst("a", "m1", 0), inst("b", "m1", 1, monitoring_grafana_port="3610")])
    assert found == ["a and b on machine m1 share the port 3610 (network_charon_port of a, monitoring_grafana_port of b)"]


def test_unused_values_and_trailing_slashes():
    # no geth of its own (shared EL): its EL ports are not in use
    assert _fleet.collisions([inst("a", "m", 0), inst("b", "m", 1, geth_p2p_port=None, geth_rpc_port="")]) == []
    found = _fleet.collisions([inst("a", "m", 0), inst("b", "m", 1, charon_data_dir="/opt/charon/.charon/")])
    assert found == ["a and b on machine m share the directory /opt/charon/.charon (charon_data_dir)"]


def test_values_that_are_no_port_are_left_to_their_own_preflight():
    # geth_p2p_port=70000 on every instance: the geth preflight names it as no TCP/UDP port, not as a clash
    assert _fleet.collisions([inst("a", "m", 0, geth_p2p_port=70000), inst("b", "m", 1, geth_p2p_port="70000")]) == []
    assert _fleet.collisions([inst("a", "m", 0, geth_p2p_port="0"), inst("b", "m", 1, geth_p2p_port=0)]) == []
    assert _fleet.collisions([inst("a", "m", 0, geth_p2p_port=65535), inst("b", "m", 1, geth_p2p_port="65535")]) == [
        "a and b on machine m share the port 65535 (geth_p2p_port)"]


def test_every_pair_is_reported_once():
    three = [inst(h, "m", 5, **{n: None for n in list(_fleet.SLOT_LAYOUT)[1:]},
                  charon_base_dir="/x/" + h, charon_data_dir="/x/%s/.c" % h, docker_project_name=h) for h in "abc"]
    found = _fleet.collisions(three)
    assert found == ["%s and %s on machine m share the port 3615 (network_charon_port)" % p
                     for p in itertools.combinations("abc", 2)]


def test_filter_wraps_bad_input():
    with pytest.raises(AnsibleFilterError, match="each instance needs host, machine and values"):
        F["fleet_collisions"]([{"host": "a"}])


def test_only_the_pairs_of_one_host():
    three = [inst("a", "m", 0), inst("b", "m", 0), inst("c", "m", 1)]
    assert _fleet.collisions(three, "c") == []
    mine = _fleet.collisions(three, "b")
    assert mine and all(m.startswith("a and b on machine m") for m in mine)
    assert F["fleet_collisions"](three, "a") == mine
