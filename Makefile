# make lab   - the main job: a real LiveKit on loopback, converged with playbooks/lab_api.yml
# make test  - every test (what CI runs)
.PHONY: lab test stop
lab:
	bash scripts/lab.sh
test:
	bash scripts/test.sh
stop:
	bash scripts/lab.sh stop
