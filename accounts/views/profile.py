# PLACEHOLDER: replaced by My profile (helper). Must not land.
from django.http import Http404


def my_profile(request):
    raise Http404


change_password = my_profile
