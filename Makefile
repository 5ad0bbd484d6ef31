# make lab   - the main job: the lab stack (inventories/lab) on local test hosts, site.yml + lab_api.yml
# make lab-api - only a real LiveKit on loopback, converged with playbooks/lab_api.yml
# make test  - every test (what CI runs)
# make test-roles - every Molecule scenario (one per role too) on real systemd hosts (podman)
# make lab-k8s - the lab on a real local single-node Kubernetes (playbooks/kubernetes.yml); make stop-k8s stops it
# make ee    - the AWX execution environment image from this checkout, and job-template runs inside it
.PHONY: lab lab-api lab-k8s test test-roles stop stop-k8s ee
lab:
	bash scripts/lab.sh
lab-api:
	bash scripts/lab.sh api
lab-k8s:
	bash scripts/lab-k8s.sh
stop-k8s:
	bash scripts/lab-k8s.sh stop
test:
	bash scripts/test.sh
stop:
	bash scripts/lab.sh stop
test-roles:
	bash scripts/bootstrap.sh
	bash scripts/build-kubernetes.sh
	.venv/bin/pytest tests/e2e/test_molecule.py
ee:
	bash scripts/bootstrap.sh
	bash scripts/build-ee.sh
	RTCSTACK_EE_TESTS=1 .venv/bin/pytest tests/e2e/test_awx_ee.py
