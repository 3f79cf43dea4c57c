"""The delay server: messages sent to ``asgi.delay`` reach their channel later.

Add ``"channels_test.delay"`` to ``INSTALLED_APPS``, run ``manage.py
migrate``, and run ``manage.py rundelay`` (``runserver`` and the live server
of the test toolkit run it for you). See the delay page of the docs.
"""
